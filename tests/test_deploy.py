"""``harness deploy``: plan, apply, drift and failures against a real "production" server.

One MySQL container plays the lab's production server. Each test deploys under
its own schema prefix, so the tests are independent on one server. Under
DataJoint 0.14 the pipeline is element-lab -> element-animal -> element-session
-> element-event (``elements/pipelines/lab-session.toml``); under 2.x, where
those releases do not activate, the sample Elements
(``elements/pipelines/samples.toml``). Either way a "production" state is made
by applying the first part of the pipeline, inserting rows and, for drift,
altering a table by hand; the full pipeline is then planned and applied.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import socket
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.activation import compat
from harness.db.backends import get_backend
from harness.deploy.arguments import add_deploy_parser
from harness.deploy.commands import run_deploy
from harness.deploy.ddl import sql_names
from harness.deploy.pipeline import loaded_pipeline
from harness.deploy.planner import CREATE, compute_plan
from harness.deploy.spec import PIPELINE_DIR, load_pipeline
from harness.elements.spec import SpecError
from harness.errors import HarnessError
from harness.manifest import MANIFEST_DIR
from harness.session import prepare_targets
from tests.conftest import MYSQL

MAJOR = compat.major_version()
MYSQL_BACKEND = get_backend("mysql")


@dataclass(frozen=True)
class Scenario:
    """What the pipeline of this DataJoint version looks like on the target."""

    pipeline: str
    file_prefix: str  # schema names in the bundled file start with this
    partial: int  # the first `partial` entries make the "production" state
    #: (manifest file, stem -> schema suffix) of the entries, in order.
    manifests: tuple[tuple[str, dict[str, str]], ...]
    rows: tuple[str, ...]  # INSERT statements, {p} is the prefix
    drift_table: str  # `schema`.`table` with {p}
    drift_subject: str  # the class-level name of the drifting table, with {p}


if MAJOR >= 2:
    SCENARIO = Scenario(
        pipeline="samples",
        file_prefix="smp_",
        partial=1,
        manifests=(
            ("sample-clean.dj2.json", {"lab": "lab"}),
            ("sample-multischema.dj2.json", {"recording": "recording", "device": "device"}),
        ),
        rows=(
            "INSERT INTO `{p}_lab`.`lab` (lab, lab_name, organization) "
            "VALUES ('l1', 'Lab one', 'sample')",
            "INSERT INTO `{p}_lab`.`member` (member, full_name) VALUES ('alice', 'Alice')",
        ),
        drift_table="`{p}_lab`.`lab`",
        drift_subject="{p}_lab.Lab",
    )
else:
    SCENARIO = Scenario(
        pipeline="lab-session",
        file_prefix="lab_",
        partial=2,
        manifests=(
            ("element-lab-0.3.0.dj0.json", {"lab": "lab"}),
            ("element-animal-0.1.8.dj0.json", {"subject": "subject"}),
            ("element-session-0.1.6.dj0.json", {"session_with_datetime": "session"}),
            ("element-event-0.2.3.dj0.json", {"trial": "trial", "event": "event"}),
        ),
        rows=(
            "INSERT INTO `{p}_lab`.`#lab` (lab, lab_name, address, time_zone) "
            "VALUES ('l1', 'Lab one', 'here', 'UTC')",
            "INSERT INTO `{p}_lab`.`#user` (user) VALUES ('alice')",
            "INSERT INTO `{p}_subject`.`subject` (subject, sex, subject_birth_date) "
            "VALUES ('s1', 'f', '2024-01-01')",
        ),
        drift_table="`{p}_subject`.`subject`",
        drift_subject="{p}_subject.Subject",
    )


# -- helpers -------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def pipeline_installed() -> None:
    """The pipeline's Elements installed as ``harness check`` installs them.

    A deploy refuses a pipeline whose Elements are not installed; these tests must
    not depend on an earlier test module having installed them.
    """
    spec = load_pipeline(PIPELINE_DIR / f"{SCENARIO.pipeline}.toml")
    specs = [entry.spec for entry in spec.entries if entry.spec is not None]
    prepare_targets(specs, install=True, say=lambda _text: None)


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    from harness.db.provider import provide_server
    from harness.settings import Settings

    with provide_server(Settings(db="mysql", image=MYSQL, startup_timeout=90)) as info:
        yield info


@pytest.fixture
def admin(server: Any) -> Iterator[Any]:
    connection = MYSQL_BACKEND.connect(
        server.host, server.port, server.admin_user, server.admin_password
    )
    yield connection
    connection.close()


_counter = iter(range(1000))


def new_prefix() -> str:
    return f"p{next(_counter)}"


def write_pipeline(directory: Path, prefix: str, entries: int | None = None) -> Path:
    """The bundled pipeline with schema names under ``prefix``, cut to its first ``entries``."""
    text = (PIPELINE_DIR / f"{SCENARIO.pipeline}.toml").read_text(encoding="utf-8")
    text = text.replace(f'"{SCENARIO.file_prefix}', f'"{prefix}_')
    if entries is not None:
        parts = text.split("[[element]]")
        text = "[[element]]".join(parts[: entries + 1])
    path = directory / f"{prefix}-{entries or 'all'}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def create_user(admin: Any, user: str, password: str, schemas: list[str] | None, prefix: str):
    """A deploying user: all privileges on ``schemas`` (None: on every ``<prefix>_*``)."""
    MYSQL_BACKEND.query(admin, "CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
    patterns = (
        [s.replace("_", "\\_") for s in schemas]
        if schemas is not None
        else [MYSQL_BACKEND.like_prefix(prefix)]
    )
    for pattern in patterns:
        literal = pattern.replace("%", "%%")
        MYSQL_BACKEND.query(admin, f"GRANT ALL PRIVILEGES ON `{literal}`.* TO %s@'%%'", (user,))


def url(server: Any, user: str, password: str | None) -> str:
    secret = f":{password}" if password is not None else ""
    return f"mysql://{user}{secret}@{server.host}:{server.port}"


def deploy(*argv: str) -> tuple[int, str]:
    """Run ``harness deploy`` in-process as the CLI does (HarnessError -> message, exit code)."""
    parser = argparse.ArgumentParser()
    add_deploy_parser(parser.add_subparsers())
    args = parser.parse_args(["deploy", *argv])
    output = io.StringIO()
    with redirect_stdout(output):
        try:
            code = run_deploy(args)
        except HarnessError as exc:
            print(f"harness: error: {exc}")
            code = exc.exit_code
    return code, output.getvalue()


def fingerprint(admin: Any) -> dict[str, Any]:
    """Every user schema, table, column, row count and row checksum on the server."""
    system = ("mysql", "information_schema", "performance_schema", "sys")
    marks = ", ".join(["%s"] * len(system))
    tables = MYSQL_BACKEND.query(
        admin,
        f"SELECT table_schema, table_name FROM information_schema.tables "
        f"WHERE table_schema NOT IN ({marks}) ORDER BY 1, 2",
        system,
    )
    print_ = {}
    for schema, table in tables:
        quoted = f"`{schema}`.`{table}`"
        columns = MYSQL_BACKEND.query(
            admin,
            "SELECT column_name, column_type, is_nullable, column_default, column_key "
            "FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
            "ORDER BY ordinal_position",
            (schema, table),
        )
        count = MYSQL_BACKEND.query(admin, f"SELECT COUNT(*) FROM {quoted}")[0][0]
        checksum = MYSQL_BACKEND.query(admin, f"CHECKSUM TABLE {quoted}")[0][1]
        print_[quoted] = (columns, count, checksum)
    schemas = MYSQL_BACKEND.query(
        admin,
        f"SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT IN ({marks})",
        system,
    )
    return {"schemas": sorted(row[0] for row in schemas), "tables": print_}


def expected_names(prefix: str, entries: range) -> set[str]:
    """``schema.Class`` of every table the manifests of ``entries`` declare, independently."""
    names = set()
    for index in entries:
        manifest_file, stems = SCENARIO.manifests[index]
        manifest = json.loads((MANIFEST_DIR / manifest_file).read_text(encoding="utf-8"))
        for table in manifest["tables"]:
            if table["schema"] in stems:
                names.add(f"{prefix}_{stems[table['schema']]}.{table['name']}")
    return names


def section(output: str, title: str) -> set[str]:
    """The names listed under ``title`` (e.g. "tables to create") in every Element's block."""
    found: set[str] = set()
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.strip().startswith(f"{title}:"):
            for item in lines[i + 1 :]:
                if not item.startswith("    "):
                    break
                words = item.split()
                if not item.startswith("        "):
                    # "+ name" of a table to create; drift lines ("+ attribute ...") whole.
                    found.add(words[1] if len(words) == 2 else item.strip())
    return found


@dataclass
class Production:
    prefix: str
    user: str
    password: str
    full: Path
    existing: list[str]  # quoted tables present before the full deploy


def make_production(server: Any, admin: Any, tmp_path: Path, drift: str | None) -> Production:
    """The partial pipeline applied, rows inserted, and (optionally) a hand-made ALTER."""
    prefix = new_prefix()
    user, password = f"dep_{prefix}", f"pw-{prefix}-Secret1"
    create_user(admin, user, password, None, prefix)
    partial = write_pipeline(tmp_path, prefix, SCENARIO.partial)
    code, output = deploy(str(partial), "--target", url(server, user, password), "--apply")
    assert code == 0, output
    assert "verified:" in output
    for statement in SCENARIO.rows:
        MYSQL_BACKEND.query(admin, statement.format(p=prefix))
    if drift is not None:
        MYSQL_BACKEND.query(admin, f"ALTER TABLE {SCENARIO.drift_table.format(p=prefix)} {drift}")
    existing = [name for name in fingerprint(admin)["tables"] if name.startswith(f"`{prefix}_")]
    assert existing
    return Production(prefix, user, password, write_pipeline(tmp_path, prefix), existing)


def _refused_by_server(output: str) -> bool:
    """DataJoint's words for a privilege the user lacks (they differ between versions)."""
    text = output.lower()
    return "denied" in text or "check permissions" in text


def checksums(admin: Any, tables: list[str]) -> dict[str, Any]:
    return {t: MYSQL_BACKEND.query(admin, f"CHECKSUM TABLE {t}")[0][1] for t in tables}


# -- plan ----------------------------------------------------------------------------------


def test_plan_lists_creations_and_drift_and_changes_nothing(server, admin, tmp_path):
    prod = make_production(server, admin, tmp_path, "ADD COLUMN `note` varchar(16) NULL")
    before = fingerprint(admin)
    code, output = deploy(str(prod.full), "--target", url(server, prod.user, prod.password))
    assert code == 0, output
    assert fingerprint(admin) == before, "plan changed the server"
    remaining = range(SCENARIO.partial, len(SCENARIO.manifests))
    assert section(output, "tables to create") == expected_names(prod.prefix, remaining)
    present = expected_names(prod.prefix, range(SCENARIO.partial))
    drifting = SCENARIO.drift_subject.format(p=prod.prefix)
    assert section(output, "present and matching") == present - {drifting}
    assert section(output, "drift") == {f"+ attribute {drifting}.note varchar(16)"}
    # The DDL is DataJoint's: a CREATE TABLE for each table to create.
    assert output.count("CREATE TABLE IF NOT EXISTS") == len(expected_names(prod.prefix, remaining))
    assert "DDL not available" not in output
    assert prod.password not in output


def test_plan_ddl_creates_exactly_what_the_manifests_declare(server, admin, tmp_path):
    """Run the plan's DDL by hand: the next plan finds every table present and matching."""
    prefix = new_prefix()
    spec = load_pipeline(write_pipeline(tmp_path, prefix))
    with loaded_pipeline(spec) as elements:
        plan = compute_plan(MYSQL_BACKEND, admin, elements)
        statements = [f"CREATE DATABASE `{s}`" for s in plan.schemas_to_create]
        statements += [sql for table in plan.all(CREATE) for sql in table.ddl]
        for statement in statements:
            MYSQL_BACKEND.query(admin, statement)
        again = compute_plan(MYSQL_BACKEND, admin, elements)
    assert plan.all(CREATE) and not again.all(CREATE)
    assert again.drift == []
    assert len(again.all("match")) == len(expected_names(prefix, range(len(SCENARIO.manifests))))


# -- apply ---------------------------------------------------------------------------------


def test_apply_refuses_drift_then_creates_only_what_is_missing(server, admin, tmp_path):
    prod = make_production(server, admin, tmp_path, "ADD COLUMN `note` varchar(16) NULL")
    target = url(server, prod.user, prod.password)
    before = fingerprint(admin)
    code, output = deploy(str(prod.full), "--target", target, "--apply")
    assert code == 1, output
    assert "refusing to apply" in output
    assert fingerprint(admin) == before

    old_rows = checksums(admin, prod.existing)
    code, output = deploy(str(prod.full), "--target", target, "--apply", "--allow-additive-drift")
    assert code == 0, output
    remaining = expected_names(prod.prefix, range(SCENARIO.partial, len(SCENARIO.manifests)))
    assert section(output, "created tables") == remaining
    assert "verified:" in output
    assert checksums(admin, prod.existing) == old_rows
    after = fingerprint(admin)
    assert {k: v for k, v in after["tables"].items() if k in prod.existing} == {
        k: v for k, v in before["tables"].items() if k in prod.existing
    }

    # A second apply is a no-op, and the plan shows everything present.
    code, output = deploy(str(prod.full), "--target", target, "--apply", "--allow-additive-drift")
    assert code == 0, output
    assert "apply: nothing to create" in output
    assert section(output, "tables to create") == set()
    assert fingerprint(admin) == after


def test_apply_on_an_empty_target_then_second_apply_is_a_noop(server, admin, tmp_path):
    prefix = new_prefix()
    user, password = f"dep_{prefix}", f"pw-{prefix}-Secret2"
    create_user(admin, user, password, None, prefix)
    full = write_pipeline(tmp_path, prefix)
    code, output = deploy(str(full), "--target", url(server, user, password), "--apply")
    assert code == 0, output
    every = expected_names(prefix, range(len(SCENARIO.manifests)))
    assert section(output, "created tables") == every
    snapshot = fingerprint(admin)
    code, output = deploy(str(full), "--target", url(server, user, password), "--apply")
    assert code == 0, output
    assert "apply: nothing to create" in output
    assert section(output, "present and matching") == every
    assert fingerprint(admin) == snapshot


def test_non_additive_drift_is_refused_even_when_additive_drift_is_allowed(server, admin, tmp_path):
    prod = make_production(server, admin, tmp_path, "ADD COLUMN `note` varchar(16) NOT NULL")
    before = fingerprint(admin)
    code, output = deploy(
        str(prod.full),
        "--target",
        url(server, prod.user, prod.password),
        "--apply",
        "--allow-additive-drift",
    )
    assert code == 1, output
    drifting = SCENARIO.drift_subject.format(p=prod.prefix)
    assert f"+ attribute {drifting}.note varchar(16) not null" in output
    assert "refusing to apply" in output
    assert fingerprint(admin) == before


def test_failure_part_way_is_reported_and_the_next_plan_shows_what_remains(server, admin, tmp_path):
    prefix = new_prefix()
    user, password = f"dep_{prefix}", f"pw-{prefix}-Secret3"
    spec = load_pipeline(write_pipeline(tmp_path, prefix))
    last = spec.entries[-1]
    allowed = [s for entry in spec.entries[:-1] for s in entry.schemas.values()]
    create_user(admin, user, password, allowed, prefix)
    target = url(server, user, password)
    code, output = deploy(str(spec.path), "--target", target, "--apply")
    assert code == 1, output
    assert "apply stopped" in output and _refused_by_server(output)
    done = expected_names(prefix, range(len(SCENARIO.manifests) - 1))
    assert section(output, "created tables") == done
    left = expected_names(prefix, range(len(SCENARIO.manifests) - 1, len(SCENARIO.manifests)))
    # What was created is complete: the next plan finds it matching, and only the rest missing.
    code, output = deploy(str(spec.path), "--target", target)
    assert code == 0, output
    assert section(output, "tables to create") == left
    assert section(output, "present and matching") == done
    assert sorted(re.findall(r"schemas to create: (.*)", output)[0].split(", ")) == sorted(
        last.schemas.values()
    )


# -- errors: clear, and nothing touched ----------------------------------------------------


def test_wrong_password_is_a_clear_error_and_changes_nothing(server, admin, tmp_path):
    prefix = new_prefix()
    create_user(admin, f"dep_{prefix}", "right-Password-4", None, prefix)
    before = fingerprint(admin)
    wrong = "wrong-Password-4"
    code, output = deploy(
        str(write_pipeline(tmp_path, prefix)),
        "--target",
        url(server, f"dep_{prefix}", wrong),
        "--apply",
    )
    assert code == 2
    assert "cannot connect" in output and "Access denied" in output
    assert wrong not in output
    assert fingerprint(admin) == before


def test_password_from_environment_or_refused_without_a_terminal(
    server, admin, tmp_path, monkeypatch
):
    prefix = new_prefix()
    create_user(admin, f"dep_{prefix}", "env-Password-5", None, prefix)
    pipeline = str(write_pipeline(tmp_path, prefix))
    target = url(server, f"dep_{prefix}", None)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal: no prompt
    code, output = deploy(pipeline, "--target", target)
    assert code == 2 and "no password" in output and "HARNESS_TARGET_PASSWORD" in output
    monkeypatch.setenv("HARNESS_TARGET_PASSWORD", "env-Password-5")
    code, output = deploy(pipeline, "--target", target)
    assert code == 0, output
    assert "env-Password-5" not in output


def test_unreachable_host_fails_fast_and_clearly(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The socket is closed: nothing listens on the port.
    code, output = deploy(
        str(write_pipeline(tmp_path, "x")),
        "--target",
        f"mysql://someone:pw-Unreach-6@127.0.0.1:{port}",
        "--timeout",
        "2",
    )
    assert code == 2
    assert f"cannot connect to mysql://someone@127.0.0.1:{port}" in output
    assert "pw-Unreach-6" not in output


def test_select_only_user_can_plan_but_apply_creates_nothing(server, admin, tmp_path):
    prefix = new_prefix()
    user, password = f"ro_{prefix}", "select-Only-7"
    MYSQL_BACKEND.query(admin, "CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
    MYSQL_BACKEND.query(admin, "GRANT SELECT ON *.* TO %s@'%%'", (user,))
    pipeline = str(write_pipeline(tmp_path, prefix))
    before = fingerprint(admin)
    code, output = deploy(pipeline, "--target", url(server, user, password))
    assert code == 0, output
    code, output = deploy(pipeline, "--target", url(server, user, password), "--apply")
    assert code == 1
    assert "apply stopped" in output and _refused_by_server(output)
    assert section(output, "created tables") == set()
    assert fingerprint(admin) == before


# -- the pipeline file ---------------------------------------------------------------------

_GOOD = """\
name = "p"

[[element]]
spec = "sample-clean"
schemas = { lab = "x_lab" }

[[element]]
spec = "sample-multischema"
schemas = { recording = "x_recording", device = "x_device" }

[element.upstream]
Session = "sample-clean:lab.Lab"
"""


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        (
            _GOOD.replace('spec = "sample-clean"', 'spec = "sample-clean"\nmodule = []'),
            "key 'element[0].module': unknown key",
            5,
        ),
        (_GOOD.replace('"x_lab" }', "3 }"), "key 'element[0].schemas.lab': expected a string", 5),
        (
            _GOOD.replace("sample-clean:lab.Lab", "sample-multischema:recording.Recording"),
            "reference cycle: sample-multischema -> sample-multischema",
            12,
        ),
        (
            _GOOD.replace("sample-clean:lab.Lab", "nowhere:lab.Lab"),
            "'nowhere', which is not an entry",
            12,
        ),
        (
            _GOOD.replace('schemas = { lab = "x_lab" }', ""),
            "key 'element[0].schemas': required key missing",
            3,
        ),
        (_GOOD.replace('"x_device"', '"x_lab"'), "schema 'x_lab' is also element[0]", 9),
        (_GOOD.replace('name = "p"', 'name = "p'), "invalid TOML", 1),
    ],
)
def test_malformed_pipeline_names_file_key_and_line(tmp_path, text, message, line):
    path = tmp_path / "pipeline.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_pipeline(path)
    assert message in str(caught.value)
    assert caught.value.line == line
    assert str(path) in str(caught.value)


def test_cycle_between_two_entries_is_named(tmp_path):
    text = _GOOD.replace(
        'schemas = { lab = "x_lab" }',
        'schemas = { lab = "x_lab" }\nupstream = { X = "sample-multischema:device.Device" }',
    )
    path = tmp_path / "cycle.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_pipeline(path)
    assert "reference cycle: sample-clean -> sample-multischema -> sample-clean" in str(
        caught.value
    )
    assert caught.value.line == 6


def test_malformed_pipeline_fails_before_connecting_and_leaves_the_server(server, admin, tmp_path):
    before = fingerprint(admin)
    for name, text in {
        "unknown.toml": _GOOD.replace("schemas = { lab", "schema = 1\nschemas = { lab"),
        "missing-file.toml": None,
        "unknown-stem.toml": _GOOD.replace("lab = ", "laboratory = "),
    }.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text, encoding="utf-8")
        code, output = deploy(str(path), "--target", url(server, "root", server.admin_password))
        assert code == 2, output
        assert f"spec {path}" in output
        assert server.admin_password not in output
    assert "'laboratory' is not a schema of the modules activated (lab)" in output
    assert fingerprint(admin) == before


def test_sql_names_follow_datajoint_tiers():
    from harness.db.catalog import Table

    tables = [
        Table("s", "Lab", "lookup", None, ["lab"]),
        Table("s", "Lab.Room", "part", "Lab", ["lab"]),
        Table("s", "ScanInfo", "imported", None, ["scan"]),
    ]
    assert sql_names(tables) == {
        ("s", "Lab"): "#lab",
        ("s", "Lab.Room"): "#lab__room",
        ("s", "ScanInfo"): "_scan_info",
    }
