"""``harness release-check``: classifying schema changes, end to end on sample releases.

``elements/samples/releases/`` holds three releases of one sample Element: 1.0 to
1.1 is one additive change (a nullable attribute added) and one breaking change
(an attribute removed); 1.2 adds a module, which the spec (written for 1.2)
lists. The command must find exactly those, whichever form each side takes
(a published version, a source tree such as ``.``, a git ref), and each side
must import its own release, whatever the working directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import MARIADB, harness_command, harness_containers, orphaned_since

from harness.activation import compat
from harness.elements.spec import load_spec
from harness.manifest import diff_manifests
from harness.release.check import describe_failure
from harness.release.child import isolate_sys_path, origin_problem
from harness.release.classify import BREAKING, classify, type_change
from harness.release.sides import PipOptions, prepare_side, resolve_element
from harness.release.target import side_target

ROOT = Path(__file__).resolve().parents[1]
RELEASES = ROOT / "elements" / "samples" / "releases"
OLD, NEW = RELEASES / "sample-evolving-1.0", RELEASES / "sample-evolving-1.1"
NEWEST, SPEC = RELEASES / "sample-evolving-1.2", RELEASES / "sample-evolving.toml"
TIMEOUT = 600


@pytest.mark.parametrize(
    ("old", "new", "verdict"),
    [
        ("varchar(64)", "varchar(32)", "narrowed"),
        ("varchar(32)", "varchar(64)", "widened"),
        ("int", "smallint", "narrowed"),
        ("int", "bigint", "widened"),
        ("int unsigned", "int", "narrowed"),
        ("smallint unsigned", "int", "widened"),
        ("double", "float", "narrowed"),
        ("float32", "float64", "widened"),
        ("varchar(255)", "text", "widened"),
        ("enum('a','b')", "enum('a','b','c')", "widened"),
        ("enum('a','b')", "enum('a')", "narrowed"),
        ("decimal(6,2)", "decimal(5,2)", "narrowed"),
        ("datetime(3)", "datetime", "narrowed"),
        ("date", "datetime", "changed"),
    ],
)
def test_type_changes(old: str, new: str, verdict: str) -> None:
    assert type_change(old, new) == verdict


def _table(name: str, attributes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "schema": "s",
        "name": name,
        "tier": "manual",
        "primary_key": ["id"],
        "attributes": [_attr("id", "int"), *attributes],
        "foreign_keys": [],
        **extra,
    }


def _attr(name: str, type_: str, nullable: bool = False, default: str | None = None) -> dict:
    return {"name": name, "type": type_, "nullable": nullable, "default": default}


def _verdicts(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[tuple[str, str]]:
    before, after = {"tables": old}, {"tables": new}
    return [
        (item.change.render(), item.verdict)
        for item in classify(diff_manifests(before, after), before, after)
    ]


def test_required_attribute_added_without_default_breaks() -> None:
    assert _verdicts(
        [_table("T", [])],
        [_table("T", [_attr("a", "int"), _attr("b", "int", default="0"), _attr("c", "int", True)])],
    ) == [
        ("+ attribute s.T.a int not null", "breaking"),
        ("+ attribute s.T.b int not null default 0", "additive"),
        ("+ attribute s.T.c int", "additive"),
    ]


def test_tier_primary_key_and_foreign_key_changes_break() -> None:
    fk = {"parent": "s.P", "attributes": {"id": "id"}, "nullable": False}
    moved = {"parent": "s.Q", "attributes": {"id": "id"}, "nullable": False}
    old = [_table("T", [], foreign_keys=[fk])]
    new = [_table("T", [], tier="lookup", primary_key=["id", "x"], foreign_keys=[moved])]
    verdicts = _verdicts(old, new)
    assert {verdict for _, verdict in verdicts} == {BREAKING}
    assert [text.split()[1] for text, _ in verdicts] == ["tier", "primary", "foreign", "foreign"]


def test_new_table_and_comment_are_additive() -> None:
    old = [_table("T", [_attr("a", "int")])]
    new = [_table("T", [{**_attr("a", "int"), "comment": "now documented"}]), _table("U", [])]
    assert {verdict for _, verdict in _verdicts(old, new)} == {"additive"}


# ------------------------------------------------------------ sides, spec, isolation


def test_spec_module_list_applies_only_to_the_release_it_was_written_for() -> None:
    spec = load_spec(SPEC)
    older, notes = side_target("sample-evolving", "sample_evolving", spec, "1.1", NEW)
    assert older.modules == () and older.version == "1.1" and older.sys_path == (NEW,)
    assert any("sample_evolving.note" in note and "skipped" in note for note in notes), notes
    assert any("modules are discovered" in note for note in notes), notes
    newest, notes = side_target("sample-evolving", "sample_evolving", spec, "1.2", NEWEST)
    assert newest.modules == ("sample_evolving.subject", "sample_evolving.note")
    assert notes == []


def test_a_spec_module_the_release_lacks_is_skipped_with_a_note() -> None:
    # A spec naming no version applies to every release, minus the modules one lacks.
    spec = load_spec(SPEC)
    unversioned = type(spec)(**{**spec.__dict__, "version": None})
    target, notes = side_target("sample-evolving", "sample_evolving", unversioned, "1.1", NEW)
    assert target.modules == ("sample_evolving.subject",)
    assert notes == [
        "sample_evolving.note, named by the spec, is not a module of this release: skipped"
    ]


def test_a_directory_side_is_labelled_by_the_version_of_its_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(NEW, tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    element = resolve_element("sample_evolving")
    side = prepare_side("to", ".", element, repo=None, scratch=tmp_path, pip=PipOptions())
    assert (side.version, side.label, side.root) == ("1.1", "1.1 (.)", tmp_path / "repo")
    (tmp_path / "repo" / "pyproject.toml").unlink()  # falls back to __version__
    fallback = prepare_side("to", ".", element, repo=None, scratch=tmp_path, pip=PipOptions())
    assert fallback.label == "1.1 (.)"
    (tmp_path / "repo" / "sample_evolving" / "__init__.py").write_text("")
    unknown = prepare_side("to", ".", element, repo=None, scratch=tmp_path, pip=PipOptions())
    assert unknown.label == "version unknown (.)"


def test_a_spec_is_found_by_its_package_name() -> None:
    element = resolve_element("element_event")
    assert (element.name, element.package, element.distribution) == (
        "element-event",
        "element_event",
        "element-event",
    )


def test_a_failure_is_described_by_class_module_and_line_never_none() -> None:
    text = describe_failure(
        {
            "class": "declaration_error",
            "message": "bad type",
            "module": "pkg.mod",
            "table": "T",
            "file": "pkg/mod.py",
            "line": 12,
            "hint": None,
        }
    )
    assert text == "declaration_error in pkg.mod, table T, at pkg/mod.py:12: bad type"
    empty = describe_failure({"class": None, "message": None, "module": None, "line": None})
    assert "None" not in empty and "unclassified failure in an unknown module" in empty


def test_the_child_imports_the_side_even_from_a_directory_holding_another_copy(
    tmp_path: Path,
) -> None:
    """Run from the root of a tree of 1.1, the child of side 1.0 finds 1.0, never ``.``."""
    shutil.copytree(NEW, tmp_path / "repo")
    code = (
        "import sys; from pathlib import Path; "
        "from harness.release.child import isolate_sys_path, imported_from; "
        f"isolate_sys_path(Path({str(OLD)!r}), [Path.cwd()]); "
        "print(imported_from('sample_evolving')[0])"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "repo")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path / "repo",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == str(OLD / "sample_evolving")


def test_an_import_hook_that_supplies_another_copy_is_refused(tmp_path: Path) -> None:
    """An editable install's finder ahead of the path: the child must refuse, not check it."""
    import importlib.util

    class Elsewhere:
        @staticmethod
        def find_spec(name: str, path: Any = None, target: Any = None) -> Any:
            if name != "sample_evolving":
                return None
            init = NEW / "sample_evolving" / "__init__.py"
            return importlib.util.spec_from_file_location(
                name, init, submodule_search_locations=[str(init.parent)]
            )

    saved = list(sys.path)
    sys.meta_path.insert(0, Elsewhere)
    try:
        isolate_sys_path(OLD, [])
        problem = origin_problem("sample_evolving", OLD, "1.0")
    finally:
        sys.meta_path.remove(Elsewhere)
        sys.path[:] = saved
    assert problem is not None
    assert str(NEW / "sample_evolving") in problem and "refusing" in problem


# ----------------------------------------------------------------- end to end


def release_check(
    *args: str,
    element: str = "sample_evolving",
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        harness_command("release-check", element, "--db", "mariadb", "--image", MARIADB, *args),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=cwd,
        env=env,
    )


EXPECTED_BREAKING = (
    "- `- attribute subject.Subject.subject_description varchar(1024)`: attribute removed"
)
EXPECTED_ADDITIVE = (
    "- `+ attribute subject.Subject.subject_nickname varchar(64)`: optional attribute added"
)


def _sections(markdown: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in markdown.splitlines():
        if line.startswith("### "):
            current = sections.setdefault(line[4:], [])
        elif current is not None and line.startswith("- "):
            current.append(line)
    return sections


@pytest.mark.docker
def test_release_check_finds_one_breaking_and_one_additive_change(tmp_path: Path) -> None:
    before = harness_containers()
    done = release_check(
        "--from",
        str(OLD),
        "--to",
        str(NEW),
        "--markdown",
        str(tmp_path / "r.md"),
        "--json",
        str(tmp_path / "r.json"),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"## Schema changes: sample_evolving 1.0 ({OLD}) → 1.1 ({NEW})" in done.stdout
    assert _sections(done.stdout) == {
        "Breaking": [EXPECTED_BREAKING],
        "Additive": [EXPECTED_ADDITIVE],
    }
    assert (tmp_path / "r.md").read_text() + "\n" == done.stdout
    assert "1 breaking, 1 additive" in done.stderr
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["status"] == "breaking"
    assert record["summary"] == {"breaking": 1, "additive": 1}
    assert [change["verdict"] for change in record["changes"]] == ["breaking", "additive"]
    assert record["from"]["imported_from"] == [str(OLD / "sample_evolving")]
    assert record["to"]["imported_from"] == [str(NEW / "sample_evolving")]
    assert orphaned_since(before) == []


@pytest.mark.docker
def test_allow_breaking_exits_zero() -> None:
    done = release_check("--from", str(OLD), "--to", str(NEW), "--allow-breaking")
    assert done.returncode == 0, done.stdout + done.stderr
    assert EXPECTED_BREAKING in done.stdout and EXPECTED_ADDITIVE in done.stdout


def _git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(
        ["git", "-C", str(repo), *identity, *args], check=True, timeout=60, capture_output=True
    )


@pytest.mark.docker
def test_release_check_between_git_refs_from_the_repository_root(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(OLD, repo)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "1.0")
    _git(repo, "tag", "v1.0")
    # Fresh mtimes: git takes same-size files with the same mtime as unchanged.
    shutil.copytree(NEW, repo, dirs_exist_ok=True, copy_function=shutil.copy)
    _git(repo, "commit", "-q", "-am", "1.1")
    # The working tree now differs from both refs: it must not be what either side checks.
    shutil.copytree(NEWEST, repo, dirs_exist_ok=True, copy_function=shutil.copy)
    done = release_check("--repo", ".", "--from", "v1.0", "--to", "HEAD", cwd=repo)
    assert done.returncode == 1, done.stdout + done.stderr
    assert _sections(done.stdout) == {
        "Breaking": [EXPECTED_BREAKING],
        "Additive": [EXPECTED_ADDITIVE],
    }
    assert "1.0 (v1.0 @ " in done.stdout and "→ 1.1 (HEAD @ " in done.stdout


@pytest.mark.docker
def test_a_side_whose_modules_differ_from_the_spec_is_checked_with_its_own(tmp_path: Path) -> None:
    done = release_check(
        "--from",
        str(NEW),
        "--to",
        str(NEWEST),
        "--json",
        str(tmp_path / "r.json"),
        element=str(SPEC),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert _sections(done.stdout) == {
        "Breaking": ["- none"],
        "Additive": ["- `+ table note.Note`: table added"],
    }
    assert (
        "sample_evolving.note, named by the spec (written for 1.2), is not a module" in done.stderr
    )
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["from"]["modules"] == "discovered"
    assert record["to"]["modules"] == ["sample_evolving.subject", "sample_evolving.note"]


@pytest.mark.docker
def test_a_tree_that_differs_from_its_committed_manifest_is_compared_not_failed(
    tmp_path: Path,
) -> None:
    """sample-clean has a reviewed manifest; a changed tree is a release, not a failure."""
    changed = tmp_path / "sample_clean"
    shutil.copytree(ROOT / "elements" / "samples" / "sample_clean", changed)
    lab = changed / "lab.py"
    lab.write_text(
        lab.read_text().replace(
            "    lab_name: varchar(255)\n",
            "    lab_name: varchar(255)\n    lab_phone=null: varchar(32)\n",
        )
    )
    done = release_check(
        "--from",
        str(ROOT / "elements" / "samples" / "sample_clean"),
        "--to",
        str(changed),
        element="sample-clean",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert _sections(done.stdout)["Additive"] == [
        "- `+ attribute lab.Lab.lab_phone varchar(32)`: optional attribute added"
    ]
    assert "None" not in done.stderr


@pytest.mark.docker
def test_a_side_that_fails_to_activate_names_class_module_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(NEW, broken)
    subject = broken / "sample_evolving" / "subject.py"
    lines = subject.read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if "subject_birth_date: date" in line)
    lines[number - 1] = lines[number - 1].replace(": date", ": no_such_type")
    subject.write_text("\n".join(lines) + "\n")
    done = release_check(
        "--from", str(OLD), "--to", str(broken), "--json", str(tmp_path / "r.json")
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "## Schema changes" not in done.stdout
    message = next(line for line in done.stderr.splitlines() if "does not pass its check" in line)
    assert message.startswith(f"release-check: 1.1 ({broken}) does not pass its check: ")
    assert "unsupported_datajoint in sample_evolving.subject, table Subject, at " in message
    assert f"subject.py:{number}" in message
    assert "None" not in done.stderr
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["status"] == "failed" and record["changes"] == []
    assert record["from"]["status"] == "passed"
    assert record["to"]["failure"]["class"] == "unsupported_datajoint"


def _wheel_of(release: Path, tmp_path: Path) -> Path:
    """A wheel of a sample release, built from a copy (the build writes into its tree)."""
    source = tmp_path / f"build-{release.name}"
    shutil.copytree(release, source)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(wheels),
            str(source),
        ],
        check=True,
        timeout=TIMEOUT,
        capture_output=True,
    )
    return wheels


@pytest.mark.docker
def test_two_published_versions(tmp_path: Path) -> None:
    _wheel_of(OLD, tmp_path)
    wheels = _wheel_of(NEW, tmp_path)
    done = release_check("--from", "1.0", "--to", "1.1", "--find-links", str(wheels), cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "## Schema changes: sample_evolving 1.0 → 1.1\n" in done.stdout
    assert _sections(done.stdout) == {
        "Breaking": [EXPECTED_BREAKING],
        "Additive": [EXPECTED_ADDITIVE],
    }


@pytest.mark.docker
def test_published_release_against_the_working_tree_from_the_repository_root(
    tmp_path: Path, installed_harness: Any
) -> None:
    """A maintainer in their repository: ``--from 1.0 --to .``, the harness from its wheel.

    The working tree is 1.1; 1.0 is "published" as a wheel in a local index
    (``--find-links``). Were the check of 1.0 to import ``sample_evolving`` from
    the working directory, both sides would be 1.1 and no change would be found.
    """
    wheels = _wheel_of(OLD, tmp_path)
    repo = tmp_path / "sample-evolving"
    shutil.copytree(NEW, repo)
    done = installed_harness.run(
        "harness",
        "release-check",
        "sample_evolving",
        "--from",
        "1.0",
        "--to",
        ".",
        "--find-links",
        str(wheels),
        "--db",
        "mariadb",
        "--image",
        MARIADB,
        "--json",
        "release.json",
        cwd=repo,
        timeout=TIMEOUT,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "## Schema changes: sample_evolving 1.0 → 1.1 (.)" in done.stdout
    assert _sections(done.stdout) == {
        "Breaking": [EXPECTED_BREAKING],
        "Additive": [EXPECTED_ADDITIVE],
    }
    record = json.loads((repo / "release.json").read_text())
    (old_from,) = record["from"]["imported_from"]
    assert not Path(old_from).is_relative_to(repo) and old_from.endswith("sample_evolving")
    assert record["to"]["imported_from"] == [str(repo / "sample_evolving")]
    assert (record["from"]["label"], record["to"]["label"]) == ("1.0", "1.1 (.)")


HOOK = """
import importlib.util, sys

class _Elsewhere:
    # What an editable install's finder does: answer for the package before the path.
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name != "sample_evolving":
            return None
        init = {init!r}
        return importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[init.rsplit("/", 1)[0]]
        )

sys.meta_path.insert(0, _Elsewhere)
"""


@pytest.mark.docker
def test_a_copy_supplied_by_an_import_hook_is_refused(tmp_path: Path) -> None:
    """An environment that would hand either side the 1.1 tree: refused, never compared."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(
        HOOK.format(init=str(NEW / "sample_evolving" / "__init__.py"))
    )
    env = {**os.environ, "PYTHONPATH": str(hooks)}
    done = release_check("--from", str(OLD), "--to", str(NEWEST), env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "## Schema changes" not in done.stdout
    assert f"would be imported from {NEW / 'sample_evolving'}" in done.stderr
    assert "refusing to check another copy" in done.stderr


@pytest.mark.docker
def test_two_releases_published_on_the_package_index(tmp_path: Path) -> None:
    """element-event 0.2.0 and 0.2.3, installed from the index each into its own directory."""
    from harness.activation import compat

    done = release_check(
        "--from",
        "0.2.0",
        "--to",
        "0.2.3",
        "--json",
        str(tmp_path / "r.json"),
        element="element-event",
        cwd=tmp_path,
    )
    record = json.loads((tmp_path / "r.json").read_text())
    sides = record["from"], record["to"]
    for side in sides:
        (location,) = side["imported_from"]
        assert Path(location) == Path(side["root"]) / "element_event"
    if compat.major_version() >= 2:
        # Both releases call dj.schema, which DataJoint 2.x removed (docs/compatibility.md).
        assert done.returncode == 1, done.stdout + done.stderr
        assert record["status"] == "failed"
        assert "0.2.0 does not pass its check: unsupported_datajoint in element_event" in (
            done.stderr
        )
        return
    assert done.returncode == 0, done.stdout + done.stderr
    assert "## Schema changes: element-event 0.2.0 → 0.2.3\n" in done.stdout
    assert record["status"] == "compatible"
    assert [side["status"] for side in sides] == ["passed", "passed"]
    assert sides[0]["tables"] == sides[1]["tables"] > 0


@pytest.mark.docker
def test_update_manifests_writes_each_side_into_the_manifest_dir(tmp_path: Path) -> None:
    reviewed = tmp_path / "manifests"
    done = release_check(
        "--from",
        str(OLD),
        "--to",
        str(NEW),
        "--allow-breaking",
        "--manifest-dir",
        str(reviewed),
        "--update-manifests",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    major = compat.major_version()
    written = sorted(path.name for path in reviewed.iterdir())
    assert written == [f"sample_evolving-1.0.dj{major}.json", f"sample_evolving-1.1.dj{major}.json"]
    new = json.loads((reviewed / f"sample_evolving-1.1.dj{major}.json").read_text())
    assert "subject_nickname" in json.dumps(new)


def test_update_manifests_without_a_manifest_dir_is_refused_before_any_check() -> None:
    done = release_check("--from", str(OLD), "--to", str(NEW), "--update-manifests")
    assert done.returncode == 2
    assert "--update-manifests needs --manifest-dir" in done.stderr
