"""Upstream tables an Element defines itself are linked for real, not mocked.

On a real MySQL 9.7 container (the local image); nothing here skips. The
reviewed manifests are read too: they must record the columns a real
deployment has (``lab varchar(24)``), not a mock's ``lab_id int``.
"""

from __future__ import annotations

import functools
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import MYSQL, check_in_process, harness_command, started_server

from harness.activation import compat
from harness.db.server import ServerInfo
from harness.manifest import find_manifest
from harness.resources import manifests_dir
from harness.results import ElementResult
from harness.runinfo import RunIdentity

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[1]
RUN = RunIdentity.new()


check = functools.partial(check_in_process, run=RUN)


@pytest.fixture(scope="module")
def mysql_server() -> Iterator[ServerInfo]:
    with started_server("mysql", MYSQL, RUN) as server:
        yield server


def manifest(name: str, version: str | None, backend: str = "mysql") -> dict[str, Any]:
    _, found = find_manifest(name, version, compat.major_version(), (manifests_dir(),), backend)
    assert found is not None, f"no reviewed manifest for {name}"
    return json.loads(found.read_text(encoding="utf-8"))


def columns(manifest_data: dict[str, Any], schema: str, table: str) -> dict[str, str]:
    entry = next(t for t in manifest_data["tables"] if t["schema"] == schema and t["name"] == table)
    return {attribute["name"]: attribute["type"] for attribute in entry["attributes"]}


def test_element_lab_links_its_own_lab_user_and_protocol(tmp_path: Path) -> None:
    """``project`` gets ``element_lab.lab``'s real tables, as in a deployment."""
    report_path = tmp_path / "report.json"
    completed = subprocess.run(
        [
            *harness_command("check", "element-lab", "--db", "mysql", "--image", MYSQL),
            "--json",
            str(report_path),
            "--no-data",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,
    )
    assert report_path.exists(), completed.stderr[-3000:]
    (element,) = json.loads(report_path.read_text())["elements"]
    assert element["status"] == "passed", element["failure"]
    assert completed.returncode == 0
    assert element["mocked"]["tables"] == {}
    assert element["upstream"] == {
        name: {"source": "element", "table": f"element_lab.lab.{name}"}
        for name in ("Lab", "Protocol", "User")
    }
    assert [activation["module"] for activation in element["activations"]] == [
        "element_lab.lab",
        "element_lab.project",
    ]
    parents = {
        fk["parent"]
        for table in element["tables"]
        if table["schema"] == "project"
        for fk in table["foreign_keys"]
    }
    assert {"lab.Lab", "lab.User", "lab.Protocol"} <= parents
    assert not any(parent.startswith("mock.") for parent in parents)
    # The reviewed manifest (compared by manifest_match above) records real columns.
    for backend in ("mysql", *(("postgresql",) if compat.major_version() >= 2 else ())):
        reviewed = manifest("element-lab", "0.3.0", backend)
        assert reviewed["mocked_upstream"] == []
        experiment = columns(reviewed, "project", "Experiment")
        assert experiment["lab"] == "varchar(24)"
        assert experiment["protocol"] == "varchar(36)"
        assert "lab_id" not in experiment and "protocol_id" not in experiment
        assert columns(reviewed, "project", "ProjectPersonnel")["user"] == "varchar(32)"


def test_upstream_the_element_does_not_define_is_still_mocked(mysql_server: ServerInfo) -> None:
    """sample-linked: ``Rig`` comes from its ``rig`` module, ``Session`` from a mock.

    ``assay`` sorts before ``rig``; the plan must activate ``rig`` first.
    """
    result = check("sample-linked", mysql_server)
    assert result.status == "passed", result.failure and result.failure.render()
    assert [a["module"] for a in result.activations] == [
        "sample_linked.rig",
        "sample_linked.assay",
    ]
    assert list(result.mocked_tables) == ["Session"]
    assert result.upstream == {
        "Rig": {"source": "element", "table": "sample_linked.rig.Rig"},
        "Session": {"source": "mock", "table": None},
    }
    (assay,) = [table for table in result.tables if table.name == "Assay"]
    assert {fk.parent for fk in assay.foreign_keys} == {"rig.Rig", "mock.Session"}
    reviewed = columns(manifest("sample-linked", None), "assay", "Assay")
    assert reviewed["rig"] == "varchar(16)" and "rig_id" not in reviewed


def test_spec_upstream_is_reported_as_from_the_spec(mysql_server: ServerInfo) -> None:
    result = check("sample-upstream", mysql_server)
    assert result.status == "passed", result.failure and result.failure.render()
    assert result.upstream["Device"] == {"source": "spec", "table": "sample_clean.lab.Equipment"}
    assert result.upstream["Subject"] == {"source": "mock", "table": None}
    assert "Device" not in result.mocked_tables
    # Older reports without the mapping still load.
    data = result.to_dict()
    del data["upstream"]
    assert ElementResult.from_dict(data).upstream == {}
