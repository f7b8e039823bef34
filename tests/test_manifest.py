"""Manifests: stable files, exact diffs, and the manifest_match check on a real server."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import MARIADB, MYSQL, harness_command

from harness.activation import compat
from harness.activation.namespace import new_prefix
from harness.activation.runner import CheckOptions, ElementCheck
from harness.db.backends import get_backend
from harness.db.server import ServerInfo
from harness.elements.targets import resolve_target
from harness.manifest import diff_manifests, dumps, manifest_path, render_diff
from harness.runinfo import RunIdentity

ROOT = Path(__file__).resolve().parents[1]
MANIFESTS = ROOT / "elements" / "manifests"
RUN = RunIdentity.new()


def _sample_manifest() -> dict[str, Any]:
    path = manifest_path("sample-clean", None, compat.major_version(), MANIFESTS)
    return json.loads(path.read_text())


def _table(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in manifest["tables"] if f"{t['schema']}.{t['name']}" == name)


def _edit_attribute_type(m: dict[str, Any]) -> None:
    _table(m, "lab.Lab")["attributes"][1]["type"] = "varchar(64)"


def _edit_primary_key(m: dict[str, Any]) -> None:
    _table(m, "lab.Lab.Room")["primary_key"].append("floor")


def _edit_foreign_key(m: dict[str, Any]) -> None:
    _table(m, "lab.Lab")["foreign_keys"] = []


def _edit_tier(m: dict[str, Any]) -> None:
    _table(m, "lab.Organization")["tier"] = "manual"


def _drop_attribute(m: dict[str, Any]) -> None:
    _table(m, "lab.Lab")["attributes"].pop()


EDITS: list[tuple[Callable[[dict[str, Any]], None], str]] = [
    (_edit_attribute_type, "~ type lab.Lab.lab_name varchar(64) -> varchar(255)"),
    (_edit_primary_key, "~ primary key lab.Lab.Room [lab, room, floor] -> [lab, room]"),
    (_edit_foreign_key, "+ foreign key lab.Lab -> lab.Organization (organization)"),
    (_edit_tier, "~ tier lab.Organization manual -> lookup"),
    (_drop_attribute, "+ attribute lab.Lab.organization varchar(24) not null"),
]


@pytest.mark.parametrize(("edit", "expected"), EDITS, ids=[e[0].__name__ for e in EDITS])
def test_one_edit_gives_exactly_one_difference(
    edit: Callable[[dict[str, Any]], None], expected: str
) -> None:
    reviewed = _sample_manifest()
    edited = copy.deepcopy(reviewed)
    edit(edited)
    assert render_diff(diff_manifests(edited, reviewed)) == expected


def test_manifest_text_is_canonical() -> None:
    manifest = _sample_manifest()
    shuffled = json.loads(json.dumps(manifest))
    shuffled["tables"] = list(reversed(shuffled["tables"]))
    assert dumps(manifest) == dumps(json.loads(dumps(manifest)))
    assert diff_manifests(manifest, shuffled) == []


def test_harness_diff_exit_status_and_output(tmp_path: Path) -> None:
    reviewed = manifest_path("sample-clean", None, compat.major_version(), MANIFESTS)
    edited_path = tmp_path / "edited.json"
    edited = _sample_manifest()
    _edit_attribute_type(edited)
    edited_path.write_text(dumps(edited))
    same = subprocess.run(
        harness_command("diff", str(reviewed), str(reviewed)), capture_output=True, text=True
    )
    assert same.returncode == 0 and "no differences" in same.stdout
    differ = subprocess.run(
        harness_command("diff", str(reviewed), str(edited_path)), capture_output=True, text=True
    )
    assert differ.returncode == 1
    assert differ.stdout.strip() == "~ type lab.Lab.lab_name varchar(255) -> varchar(64)"
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    bad = subprocess.run(
        harness_command("diff", str(broken), str(reviewed)), capture_output=True, text=True
    )
    assert bad.returncode == 2 and "broken.json" in bad.stderr and "Traceback" not in bad.stderr


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, ServerInfo]]:
    from contextlib import ExitStack

    from harness.db.provider import provide_server
    from harness.settings import Settings

    with ExitStack() as stack:
        yield {
            "mysql": stack.enter_context(
                provide_server(Settings(db="mysql", image=MYSQL, startup_timeout=90), RUN)
            ),
            "mariadb": stack.enter_context(
                provide_server(Settings(db="mariadb", image=MARIADB, startup_timeout=90), RUN)
            ),
        }


def _check(target: str, server: ServerInfo, **options: Any) -> Any:
    checker = ElementCheck(
        resolve_target(target), server, new_prefix(RUN.run_id), CheckOptions(**options)
    )
    return checker, checker.run()


@pytest.mark.docker
def test_edited_manifest_fails_the_check_with_that_difference(
    servers: dict[str, ServerInfo], tmp_path: Path
) -> None:
    edited = _sample_manifest()
    _edit_primary_key(edited)
    name = manifest_path("sample-clean", None, compat.major_version(), tmp_path).name
    (tmp_path / name).write_text(dumps(edited))
    _, result = _check("sample-clean", servers["mysql"], manifest_dir=tmp_path)
    outcome = result.check("manifest_match")
    assert result.status == "failed" and outcome is not None and outcome.status == "failed"
    assert "~ primary key lab.Lab.Room [lab, room, floor] -> [lab, room]" in outcome.detail
    changes = [line for line in outcome.detail.splitlines() if line[:2] in {"+ ", "- ", "~ "}]
    assert changes == ["~ primary key lab.Lab.Room [lab, room, floor] -> [lab, room]"]


@pytest.mark.docker
def test_manifests_are_byte_identical_across_runs_and_servers(
    servers: dict[str, ServerInfo], tmp_path: Path
) -> None:
    written = []
    for index, backend in enumerate(["mysql", "mysql", "mariadb"]):
        directory = tmp_path / str(index)
        _, result = _check(
            "sample-references", servers[backend], manifest_dir=directory, update_manifests=True
        )
        assert result.status == "passed", result.checks
        (path,) = directory.iterdir()
        written.append(path.read_bytes())
    assert written[0] == written[1] == written[2]
    committed = manifest_path("sample-references", None, compat.major_version(), MANIFESTS)
    assert written[0] == committed.read_bytes()


@pytest.mark.docker
def test_table_created_behind_datajoint_is_reported(servers: dict[str, ServerInfo]) -> None:
    server = servers["mariadb"]
    checker = ElementCheck(resolve_target("sample-clean"), server, new_prefix(RUN.run_id))
    backend = get_backend(server.backend)
    with checker.activated() as activation:
        assert activation.namespace is not None
        admin = backend.connect(server.host, server.port, server.admin_user, server.admin_password)
        try:
            backend.query(
                admin, f"CREATE TABLE `{activation.namespace.schema('lab')}`.`rogue` (x int)"
            )
        finally:
            admin.close()
    declared = checker.result.check("declared_all")
    assert declared is not None and declared.status == "failed"
    assert "not declared by the Element: lab.Rogue" in declared.detail
    assert checker.result.status == "failed"


def test_committed_manifests_cover_every_real_element() -> None:
    specs = sorted(path.stem for path in (ROOT / "elements").glob("*.toml"))
    from harness.elements.spec import load_spec

    for name in specs:
        spec = load_spec(ROOT / "elements" / f"{name}.toml")
        path = manifest_path(name, spec.version, 0, MANIFESTS)
        assert path.exists(), f"no DataJoint 0.14 manifest for {name}"
        assert json.loads(path.read_text())["tables"], name


@pytest.mark.docker
def test_catalog_is_cross_checked_with_datajoints_own_view(
    servers: dict[str, ServerInfo],
) -> None:
    server = servers["mariadb"]
    checker = ElementCheck(resolve_target("sample-clean"), server, new_prefix(RUN.run_id))
    backend = get_backend(server.backend)
    with checker.activated() as activation:
        assert activation.namespace is not None
        admin = backend.connect(server.host, server.port, server.admin_user, server.admin_password)
        try:
            backend.query(
                admin,
                f"ALTER TABLE `{activation.namespace.schema('lab')}`.`lab` ADD COLUMN sneaky int",
            )
        finally:
            admin.close()
    declared = checker.result.check("declared_all")
    assert declared is not None and declared.status == "failed"
    assert "lab.Lab: DataJoint's heading" in declared.detail
