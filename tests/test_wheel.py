"""The harness as Element maintainers get it: a wheel installed into a fresh environment.

Every test here runs the installed harness (``installed_harness``, or an environment
with the dependency floors) from directories that are not this checkout, so anything
the harness still finds only beside its source tree fails here.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from harness.activation import compat
from tests.installed import (
    ROOT,
    build_sdist,
    build_wheel_from_sdist,
    create_floor_harness,
    floor_requirements,
    wheel_contents,
)

#: Imported by the server machinery; a pytest run that never uses the harness imports none.
HEAVY_MODULES = ("testcontainers", "docker", "datajoint", "pymysql", "rich", "filelock")
#: Where the shipped tree lives inside the wheel.
DATA = "harness/_data/"


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _tracked(*directories: str) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", *directories],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    return sorted(p for p in listed if not p.startswith("elements/samples/"))


def _element_report(path: Path) -> dict[str, Any]:
    report = json.loads(path.read_text(encoding="utf-8"))
    (element,) = report["elements"]
    return element


def _check_status(element: dict[str, Any], name: str) -> str:
    (check,) = [c for c in element["checks"] if c["name"] == name]
    return str(check["status"])


# ------------------------------------------------------------------ what the wheel holds


def test_wheel_ships_every_data_file_with_its_mode(installed_harness: Any) -> None:
    contents = wheel_contents(installed_harness.wheel)
    shipped = _tracked("elements", "compose/images")
    assert shipped, "nothing tracked under elements/ or compose/images/"
    missing = [p for p in shipped if DATA + p not in contents]
    assert not missing, f"not in the wheel: {missing}"
    extra = [n for n in contents if n.startswith(DATA) and n[len(DATA) :] not in shipped]
    assert not extra, f"in the wheel but not tracked (samples leak?): {extra}"
    for relative in shipped:
        executable = bool((ROOT / relative).stat().st_mode & stat.S_IXUSR)
        assert contents[DATA + relative][1] == executable, f"{relative}: executable bit lost"
    # The entrypoints the image build copies in must be executable.
    assert contents[DATA + "compose/images/common/mysql-entrypoint.sh"][1]


def test_installed_harness_reads_its_packaged_data(installed_harness: Any, tmp_path: Path) -> None:
    """resources points into site-packages, and the recipes hash as in the tree (modes too)."""
    from harness.images.build import recipe_hash
    from harness.images.catalog import RECIPES

    script = (
        "import json\n"
        "from harness import resources\n"
        "from harness.images.build import recipe_hash\n"
        "from harness.images.catalog import RECIPES\n"
        "print(json.dumps({'dirs': [str(f()) for f in (resources.elements_dir,"
        " resources.manifests_dir, resources.pipelines_dir, resources.image_recipes_dir)],"
        " 'source_root': str(resources.source_root()),"
        " 'hashes': {r.name: recipe_hash(r) for r in RECIPES}}))\n"
    )
    found = json.loads(
        _ok(installed_harness.run(str(installed_harness.python), "-c", script, cwd=tmp_path))
    )
    site = installed_harness.venv.resolve()
    for directory in found["dirs"]:
        assert Path(directory).is_dir() and Path(directory).is_relative_to(site), directory
    assert found["source_root"] == "None"
    assert found["hashes"] == {r.name: recipe_hash(r) for r in RECIPES}


def test_sdist_builds_the_same_wheel(installed_harness: Any, tmp_path: Path) -> None:
    sdist = build_sdist(tmp_path)
    from_sdist = wheel_contents(build_wheel_from_sdist(sdist, tmp_path))
    from_tree = wheel_contents(installed_harness.wheel)
    assert sorted(from_sdist) == sorted(from_tree)
    differing = [name for name in from_tree if from_tree[name] != from_sdist[name]]
    assert not differing, f"content or mode differs between the two wheels: {differing}"


# ------------------------------------------------------------------ commands, from nowhere


@pytest.mark.docker
def test_commands_from_an_empty_directory(installed_harness: Any, tmp_path: Path) -> None:
    listed = _ok(installed_harness.run("harness", "images", "list", cwd=tmp_path))
    (mysql_row,) = [line for line in listed.splitlines() if line.startswith("mysql-9.7 ")]
    # "yes": the recipe hashes as the one the image was built from (files and modes).
    assert mysql_row.split()[2] == "yes", listed

    ensured = _ok(
        installed_harness.run("harness", "images", "ensure", "mysql", "--no-pull", cwd=tmp_path)
    )
    assert "up-to-date" in ensured or "present" in ensured, ensured

    specs = _ok(installed_harness.run("harness", "check", "--list", cwd=tmp_path))
    names = {line.split()[0] for line in specs.splitlines() if line.strip()}
    expected = {p.stem for p in (ROOT / "elements").glob("*.toml")}
    assert expected <= names, expected - names

    done = installed_harness.run(
        "harness", "check", "element-lab", "--db", "mysql", "--json", "r.json", cwd=tmp_path
    )
    _ok(done)
    element = _element_report(tmp_path / "r.json")
    assert element["status"] == "passed", element
    # Compared against the reviewed manifest shipped in the wheel, not skipped.
    assert _check_status(element, "manifest_match") == "passed", element["checks"]


@pytest.mark.docker
def test_an_element_with_heavy_dependencies_from_the_wheel(
    installed_harness: Any, tmp_path: Path
) -> None:
    done = installed_harness.run(
        "harness",
        "check",
        "element-deeplabcut",
        "--db",
        "mysql",
        "--json",
        "r.json",
        cwd=tmp_path,
        timeout=900,
    )
    element = _element_report(tmp_path / "r.json")
    if compat.major_version() >= 2:
        # element-deeplabcut 0.2.8 uses dj.schema: under DataJoint 2 it must get past its
        # imports (ruamel.yaml's guarded C extension unstubbed) and fail on that, named.
        assert done.returncode == 1, done.stdout + done.stderr
        assert element["failure"]["class"] == "unsupported_datajoint", element["failure"]
        assert "dj.schema" in element["failure"]["message"]
        return
    _ok(done)
    assert element["status"] == "passed", element
    assert _check_status(element, "manifest_match") == "passed", element["checks"]


def test_overrides_reach_the_installed_harness(installed_harness: Any, tmp_path: Path) -> None:
    specs = tmp_path / "my-specs"
    specs.mkdir()
    text = (ROOT / "elements" / "element-lab.toml").read_text(encoding="utf-8")
    (specs / "my-lab.toml").write_text(text.replace('"element-lab"', '"my-lab"', 1))
    listed = _ok(
        installed_harness.run(
            "harness", "check", "--list", cwd=tmp_path, env={"HARNESS_SPEC_PATH": str(specs)}
        )
    )
    assert f"{specs / 'my-lab.toml'}" in listed, listed

    recipes = tmp_path / "recipes"
    shutil.copytree(ROOT / "compose" / "images", recipes)
    entrypoint = recipes / "common" / "mysql-entrypoint.sh"
    entrypoint.chmod(entrypoint.stat().st_mode & ~0o111)  # a different (broken) image
    listed = _ok(
        installed_harness.run(
            "harness",
            "images",
            "list",
            "mysql",
            cwd=tmp_path,
            env={"HARNESS_IMAGES_DIR": str(recipes)},
        )
    )
    (row,) = [line for line in listed.splitlines() if line.startswith("mysql-9.7 ")]
    assert row.split()[2] == "stale", listed


# ------------------------------------------------------------------ the pytest plugin


def _trivial_project(directory: Path, test_body: str) -> Path:
    directory.mkdir()
    (directory / "pyproject.toml").write_text('[project]\nname = "unrelated"\nversion = "1"\n')
    (directory / "test_unrelated.py").write_text(f"def test_one():\n{test_body}\n")
    return directory


def test_plugin_imports_nothing_heavy_in_an_unrelated_project(
    installed_harness: Any, tmp_path: Path
) -> None:
    project = _trivial_project(tmp_path / "unrelated", "    assert 1 + 1 == 2")
    (project / "conftest.py").write_text(
        "import json, sys\n"
        "def pytest_unconfigure(config):\n"
        "    open('modules.json', 'w').write(json.dumps({\n"
        "        'harness_loaded': config.pluginmanager.has_plugin('harness'),\n"
        f"        'heavy': [m for m in {HEAVY_MODULES!r} if m in sys.modules],\n"
        "        'harness': sorted(m for m in sys.modules if m.startswith('harness')),\n"
        "    }))\n"
    )
    _ok(installed_harness.run("pytest", "-p", "no:cacheprovider", "-q", cwd=project))
    seen = json.loads((project / "modules.json").read_text())
    assert seen["harness_loaded"], "the entry point did not load the plugin"
    assert seen["heavy"] == [], seen
    assert not [m for m in seen["harness"] if m.startswith("harness.db")], seen["harness"]


def test_plugin_silences_datajoint_import_warnings(installed_harness: Any, tmp_path: Path) -> None:
    """DataJoint 0.14's pyparsing deprecations are filtered in the user's run too."""
    project = _trivial_project(tmp_path / "uses-datajoint", "    import datajoint  # noqa: F401")
    with_plugin = _ok(installed_harness.run("pytest", "-p", "no:cacheprovider", cwd=project))
    without = _ok(
        installed_harness.run("pytest", "-p", "no:cacheprovider", "-p", "no:harness", cwd=project)
    )
    assert "DeprecationWarning" not in with_plugin, with_plugin
    import datajoint

    if datajoint.__version__.startswith("0."):  # DataJoint 2 imports without the noise
        assert "DeprecationWarning" in without, "the filter is no longer needed: drop it?"


# ------------------------------------------------------------------ dependency floors


@pytest.mark.docker
def test_lowest_declared_dependencies_run_a_check(installed_harness: Any, tmp_path: Path) -> None:
    """Every direct dependency pinned to its floor in pyproject.toml, then a real check.

    DataJoint is the one this suite runs under (its floor, 0.14.10, in that session):
    the other floors must hold beside every supported DataJoint.
    """
    import datajoint

    floor = create_floor_harness(tmp_path, installed_harness.wheel, datajoint.__version__)
    frozen = _ok(floor.run(str(floor.python), "-m", "pip", "freeze", cwd=tmp_path))
    installed = dict(line.lower().split("==", 1) for line in frozen.splitlines() if "==" in line)
    for pin in floor_requirements(installed_harness.wheel):
        name, floor_version = pin.split("==")
        if name == "datajoint":
            floor_version = datajoint.__version__
        name = name.split("[")[0].lower()
        assert Version(installed.get(name, "0")) == Version(floor_version), (pin, frozen)

    done = floor.run(
        "harness", "check", "element-lab", "--db", "mysql", "--json", "r.json", cwd=tmp_path
    )
    _ok(done)
    element = _element_report(tmp_path / "r.json")
    assert element["status"] == "passed", element
    assert _check_status(element, "manifest_match") == "passed", element["checks"]

    # The plugin under the oldest pytest it declares, checking an Element as a test item.
    project = _trivial_project(tmp_path / "project", "    pass")
    _ok(
        floor.run(
            "pytest",
            "-p",
            "no:cacheprovider",
            "--harness-element",
            "element-lab",
            "--harness-db",
            "mysql",
            cwd=project,
        )
    )

    # The live progress display (rich) renders, though no terminal is attached here.
    live = (
        "from types import SimpleNamespace\n"
        "from harness.progress import LiveProgress\n"
        "target = SimpleNamespace(name='element-lab')\n"
        "with LiveProgress(['element-lab']) as progress:\n"
        "    progress.start(target)\n"
        "    progress.step(target, 'activate')\n"
    )
    _ok(floor.run(str(floor.python), "-c", live, cwd=tmp_path))


def test_shipped_paths_are_shown_relative_to_the_shipped_tree(tmp_path: Path) -> None:
    from harness import resources

    manifest = resources.manifests_dir() / "element-lab-0.3.0.dj0.json"
    assert resources.shown_path(manifest) == "elements/manifests/element-lab-0.3.0.dj0.json"
    elsewhere = tmp_path / "my-manifests" / "x.json"
    assert resources.shown_path(elsewhere) == str(elsewhere)
