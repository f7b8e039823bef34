"""``harness matrix``: planning, the table, and an end-to-end run with caching and a lock.

The end-to-end tests check two sample Elements under both DataJoint versions on
MariaDB, in the existing environments (``.venvs/dj-<version>``, made by
``scripts/bootstrap``), so they take seconds. The lock test rebuilds one
environment from the lock (with uv, installed for the test) and expects the
very same package set and manifests.
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

from harness.matrix.lock import pins_of, read_lock
from harness.matrix.plan import Combination, combinations, github_matrix, parse_backends
from harness.matrix.table import build_table, cell_text

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "elements" / "samples"
VERSIONS = ("0.14.10", "2.3.5")
RUN_TIMEOUT = 600


def test_postgresql_only_with_datajoint_2() -> None:
    combos = combinations(VERSIONS, ["mysql", "postgresql"])
    assert combos == [
        Combination("0.14.10", "mysql"),
        Combination("2.3.5", "mysql"),
        Combination("2.3.5", "postgresql"),
    ]


def test_github_matrix_lists_every_supported_combination_per_python() -> None:
    matrix = github_matrix(VERSIONS, parse_backends("mariadb, postgres"), ["3.10", "3.12"])
    assert matrix["include"] == [
        {"datajoint": dj, "db": db, "python": py}
        for py in ("3.10", "3.12")
        for dj, db in (("0.14.10", "mariadb"), ("2.3.5", "mariadb"), ("2.3.5", "postgresql"))
    ]


def _cell(element: str, dj: str, status: str, python: str = "3.12", **extra: Any) -> dict:
    failure = {"class": "unsupported_datajoint", "message": "uses dj.schema"}
    return {
        "element": element,
        "datajoint": dj,
        "db": "mysql",
        "status": status,
        "tables": 5,
        "failure": None if status == "passed" else failure,
        "provenance": {"python": python, "server": {"version": "8.4.2"}},
        **extra,
    }


def test_table_rows_are_elements_and_columns_are_combinations() -> None:
    cells = [_cell("a", "0.14.10", "passed"), _cell("a", "2.3.5", "failed")]
    table = build_table(cells)
    assert [c.label for c in table.columns] == ["0.14.10 · MySQL 8.4", "2.3.5 · MySQL 8.4"]
    assert [cell_text(c) for c in table.rows[0].cells] == ["✅ 5", "❌ unsupported_datajoint"]


def test_cells_of_several_pythons_get_a_column_each() -> None:
    cells = [_cell("a", "2.3.5", "passed", "3.10"), _cell("a", "2.3.5", "failed", "3.12")]
    labels = [column.label for column in build_table(cells).columns]
    assert labels == ["2.3.5 · MySQL 8.4 · Python 3.10", "2.3.5 · MySQL 8.4 · Python 3.12"]


# ----------------------------------------------------------------- end to end


def environment_for(version: str) -> Path:
    """An existing environment with DataJoint ``version`` (fails, never skips, without one)."""
    candidates = [ROOT / ".venvs" / f"dj-{version}", ROOT / ".venv", Path(sys.prefix)]
    for candidate in candidates:
        python = candidate / "bin" / "python"
        if not python.exists():
            continue
        done = subprocess.run(
            [str(python), "-c", "import datajoint; print(datajoint.__version__)"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.stdout.strip() == version:
            return candidate
    raise AssertionError(
        f"no environment with DataJoint {version}: run scripts/bootstrap {version}"
    )


def run_matrix(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        harness_command("matrix", *args),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
        env=env,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A cache directory and a private copy of sample_clean the tests may change."""
    base = tmp_path_factory.mktemp("matrix")
    element = base / "src" / "sample_clean"
    shutil.copytree(SAMPLES / "sample_clean", element)
    envs = [f"--python-env={v}={environment_for(v)}" for v in VERSIONS]
    common = [
        str(element),
        "sample-references",
        *("--datajoint", ",".join(VERSIONS), "--db", "mariadb", "--image", f"mariadb={MARIADB}"),
        *envs,
        *("--cache-dir", str(base / "cache")),
    ]
    return {"base": base, "element": element, "common": common}


@pytest.fixture(scope="module")
def first_run(workspace: dict[str, Any]) -> dict[str, Any]:
    base = workspace["base"]
    before = harness_containers()
    done = run_matrix(
        *workspace["common"],
        *("--json", str(base / "m.json"), "--markdown", str(base / "m.md")),
        *("--html", str(base / "m.html"), "--lock", str(base / "lock.json")),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return {
        "stderr": done.stderr,
        "doc": json.loads((base / "m.json").read_text()),
        "orphans": orphaned_since(before),
    }


@pytest.mark.docker
def test_matrix_checks_every_element_in_every_combination(first_run: dict[str, Any]) -> None:
    assert "matrix: 4 cell(s): checked 4, cached 0" in first_run["stderr"]
    cells = first_run["doc"]["cells"]
    got = {(c["element"], c["datajoint"], c["db"]): (c["status"], c["tables"]) for c in cells}
    assert got == {
        (name, dj, "mariadb"): ("passed", tables)
        for name, tables in (("sample_clean", 7), ("sample-references", 4))
        for dj in VERSIONS
    }
    assert first_run["orphans"] == []


@pytest.mark.docker
def test_each_cell_records_its_provenance(first_run: dict[str, Any]) -> None:
    doc = first_run["doc"]
    for cell in doc["cells"]:
        provenance = cell["provenance"]
        assert provenance["datajoint"] == cell["datajoint"]
        assert provenance["harness_version"] and provenance["python"]
        assert provenance["server"]["image"] == MARIADB
        assert provenance["server"]["image_id"].startswith("sha256:")
        assert provenance["server"]["version"].startswith("10.11")
        freeze = doc["freezes"][provenance["freeze_sha256"]]
        assert f"datajoint=={cell['datajoint']}" in freeze
        assert cell["manifest_sha256"]
    references = next(c for c in doc["cells"] if c["element"] == "sample-references")
    assert len(references["provenance"]["element_commit"]) == 40  # checked from this git tree


@pytest.mark.docker
def test_markdown_and_html_show_the_table(workspace: dict[str, Any], first_run: Any) -> None:
    markdown = (workspace["base"] / "m.md").read_text()
    assert "| Element | 0.14.10 · MariaDB 10.11 | 2.3.5 · MariaDB 10.11 |" in markdown
    assert "| sample-references | ✅ 4 | ✅ 4 |" in markdown
    assert '<td class="passed"' in (workspace["base"] / "m.html").read_text()


@pytest.mark.docker
def test_rerun_only_checks_what_changed(workspace: dict[str, Any], first_run: Any) -> None:
    again = run_matrix(*workspace["common"])
    assert again.returncode == 0, again.stderr
    assert "matrix: 4 cell(s): checked 0, cached 4" in again.stderr
    module = workspace["element"] / "lab.py"
    module.write_text(module.read_text() + "\n# a change to the Element's source\n")
    changed = run_matrix(*workspace["common"])
    assert changed.returncode == 0, changed.stderr
    assert "matrix: dj-0.14.10-mariadb: checked 1, cached 1" in changed.stderr
    assert "matrix: dj-2.3.5-mariadb: checked 1, cached 1" in changed.stderr


@pytest.fixture(scope="module")
def uv(tmp_path_factory: pytest.TempPathFactory) -> str:
    """uv for the rebuild (a 160-package environment in seconds instead of minutes)."""
    found = shutil.which("uv")
    if found:
        return found
    target = tmp_path_factory.mktemp("uv")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), "uv"],
        check=True,
        timeout=300,
    )
    return str(target / "bin" / "uv")


@pytest.mark.docker
def test_lock_rebuilds_the_same_environment(
    workspace: dict[str, Any], first_run: dict[str, Any], uv: str
) -> None:
    base = workspace["base"]
    lock = read_lock(base / "lock.json")
    assert lock.datajoint == list(VERSIONS) and lock.dbs == ["mariadb"]
    assert any(pin.startswith("datajoint==") for pin in lock.pins["2.3.5"])
    version = "2.3.5"
    done = run_matrix(
        *("--from-lock", str(base / "lock.json"), "--datajoint", version),
        *("--cache-dir", str(base / "rebuilt"), "--json", str(base / "rebuilt.json")),
        env={**os.environ, "HARNESS_UV": uv},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "departs from the lock" not in done.stderr
    rebuilt = json.loads((base / "rebuilt.json").read_text())
    assert rebuilt["environments"][version]["origin"] == "created"
    cell = rebuilt["cells"][0]
    pins, _ = pins_of(rebuilt["freezes"][cell["provenance"]["freeze_sha256"]])
    assert pins == lock.pins[version]
    before = {
        c["element"]: c["manifest_sha256"]
        for c in first_run["doc"]["cells"]
        if c["datajoint"] == version
    }
    assert {c["element"]: c["manifest_sha256"] for c in rebuilt["cells"]} == before
