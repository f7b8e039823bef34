"""``harness deploy`` safety: saved plans bound to the target, the apply lock, rehearsal.

Real servers throughout: one MySQL container plays the lab's production server
(the "external" target of :mod:`tests.test_deploy`, whose helpers make its
production states); rehearsals start throwaway containers of their own; the
concurrency test runs two ``harness deploy`` processes against the one server.
"""

from __future__ import annotations

import json
import os
import re
from contextlib import suppress
from typing import Any

import pytest

from harness.db.backends import get_backend
from harness.deploy.lock import LOCK_NAME
from harness.deploy.pipeline import loaded_pipeline
from harness.deploy.planner import CREATE, compute_plan
from harness.deploy.rehearsal import LABEL_PURPOSE, PURPOSE
from harness.deploy.spec import load_pipeline
from harness.runinfo import RunIdentity
from tests import test_deploy
from tests.conftest import (
    POSTGRES,
    applies_released_together,
    containers_labelled,
    harness_command,
    started_server,
)
from tests.test_deploy import (
    MYSQL_BACKEND,
    SCENARIO,
    create_user,
    deploy,
    expected_names,
    fingerprint,
    make_production,
    new_prefix,
    section,
    url,
    write_pipeline,
)

#: The production server and an admin connection to it, as in test_deploy.
server = test_deploy.server
#: Its Elements installed before any test of this module, as in test_deploy.
pipeline_installed = test_deploy.pipeline_installed
admin = test_deploy.admin

_CREATE = re.compile(r"CREATE TABLE IF NOT EXISTS `(?P<schema>[^`]+)`\.`(?P<table>[^`]+)`")


def rehearsal_containers() -> list[Any]:
    """Rehearsal containers of this process (in-process deploys rehearse as this pid)."""
    return [
        c
        for c in containers_labelled(f"{LABEL_PURPOSE}={PURPOSE}")
        if c.labels.get("element-harness.pid") == str(os.getpid())
    ]


def remaining_names(prefix: str) -> set[str]:
    return expected_names(prefix, range(SCENARIO.partial, len(SCENARIO.manifests)))


# -- saved plans ---------------------------------------------------------------------------


def test_saved_plan_is_applied_as_reviewed_and_only_once(server, admin, tmp_path):
    prod = make_production(server, admin, tmp_path, None)
    target = url(server, prod.user, prod.password)
    plan_file = tmp_path / "plan.json"
    before = fingerprint(admin)
    code, output = deploy(str(prod.full), "--target", target, "--plan", "--out", str(plan_file))
    assert code == 0, output
    assert fingerprint(admin) == before, "writing a plan changed the server"
    assert f"plan written to {plan_file}" in output

    text = plan_file.read_text(encoding="utf-8")
    assert prod.password not in text
    document = json.loads(text)
    assert document["format"] == "element-harness/deploy-plan"
    assert document["pipeline"]["name"] == SCENARIO.pipeline
    assert document["target"] == {
        "backend": "mysql",
        "host": server.host,
        "port": server.port,
        "user": prod.user,
    }
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", document["fingerprint"])
    reviewed = {t["table"] for e in document["plan"]["elements"] for t in e["tables_to_create"]}
    assert reviewed == remaining_names(prod.prefix)
    creates = [s for s in document["plan"]["statements"] if s.startswith("CREATE TABLE")]
    assert len(creates) == len(reviewed)
    # The state covers the production tables the plan builds on.
    state_tables = {f"{t['schema']}.{t['name']}" for t in document["target_state"]["tables"]}
    assert expected_names(prod.prefix, range(SCENARIO.partial)) <= state_tables

    code, output = deploy(str(prod.full), "--target", target, "--apply", str(plan_file))
    assert code == 0, output
    assert "the target is unchanged" in output
    assert section(output, "created tables") == reviewed
    assert "verified:" in output

    # Applied once, the target differs from the plan's state: the same file is refused.
    after = fingerprint(admin)
    code, output = deploy(str(prod.full), "--target", target, "--apply", str(plan_file))
    assert code == 1, output
    assert "the target changed since the plan was made" in output
    some_table = sorted(reviewed)[0]
    assert f"+ table {some_table}" in output
    assert "--plan --out PLAN.json" in output
    assert fingerprint(admin) == after


def test_stale_saved_plan_is_refused_saying_what_changed(server, admin, tmp_path):
    prod = make_production(server, admin, tmp_path, None)
    target = url(server, prod.user, prod.password)
    plan_file = tmp_path / "plan.json"
    code, output = deploy(str(prod.full), "--target", target, "--out", str(plan_file))
    assert code == 0, output
    # Someone changes the target after the review: a column and a table of their own.
    drift_table = SCENARIO.drift_table.format(p=prod.prefix)
    MYSQL_BACKEND.query(admin, f"ALTER TABLE {drift_table} ADD COLUMN `note` varchar(16) NULL")
    schema = drift_table.split(".")[0].strip("`")
    MYSQL_BACKEND.query(admin, f"CREATE TABLE `{schema}`.`~scratch` (id int PRIMARY KEY)")
    before = fingerprint(admin)

    code, output = deploy(str(prod.full), "--target", target, "--apply", str(plan_file))
    assert code == 1, output
    assert f"refusing to apply {plan_file}: the target changed since the plan was made" in output
    drifting = SCENARIO.drift_subject.format(p=prod.prefix)
    assert f"+ attribute {drifting}.note varchar(16)" in output
    assert f"+ table {schema}.~scratch (not a DataJoint table)" in output
    assert "nothing was changed" in output
    assert "created tables" not in output and "activating" not in output
    assert fingerprint(admin) == before
    # Even with additive drift allowed, a stale plan stays refused: it is not what was reviewed.
    code, output = deploy(
        str(prod.full), "--target", target, "--apply", str(plan_file), "--allow-additive-drift"
    )
    assert code == 1, output
    assert fingerprint(admin) == before


def test_saved_plan_of_another_pipeline_or_target_or_edited_is_refused(
    server,
    admin,
    tmp_path,
):
    prefix = new_prefix()
    user, password = f"dep_{prefix}", f"pw-{prefix}-Bind1"
    create_user(admin, user, password, None, prefix)
    target = url(server, user, password)
    full = write_pipeline(tmp_path, prefix)
    plan_file = tmp_path / "plan.json"
    code, output = deploy(str(full), "--target", target, "--out", str(plan_file))
    assert code == 0, output
    before = fingerprint(admin)

    renamed = tmp_path / "other.toml"
    renamed.write_text(
        re.sub(r'^name = ".*"', 'name = "other"', full.read_text(encoding="utf-8"), flags=re.M),
        encoding="utf-8",
    )
    code, output = deploy(str(renamed), "--target", target, "--apply", str(plan_file))
    assert code == 1, output
    assert f"it was made for pipeline '{SCENARIO.pipeline}', not 'other'" in output

    edited = tmp_path / "edited.toml"
    edited.write_text(full.read_text(encoding="utf-8") + "\n# reviewed?\n", encoding="utf-8")
    code, output = deploy(str(edited), "--target", target, "--apply", str(plan_file))
    assert code == 1, output
    assert "changed since the plan was made" in output

    other_user, other_password = f"dep2_{prefix}", f"pw-{prefix}-Bind2"
    create_user(admin, other_user, other_password, None, prefix)
    code, output = deploy(
        str(full), "--target", url(server, other_user, other_password), "--apply", str(plan_file)
    )
    assert code == 1, output
    assert f"made for mysql://{user}@{server.host}:{server.port}, not mysql://{other_user}@" in (
        output
    )

    document = json.loads(plan_file.read_text(encoding="utf-8"))
    document["target_state"]["schemas"][f"{prefix}_lab"] = True
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(document), encoding="utf-8")
    code, output = deploy(str(full), "--target", target, "--apply", str(tampered))
    assert code == 2, output
    assert "was edited" in output
    del document["plan"]["statements"]
    tampered.write_text(json.dumps(document), encoding="utf-8")
    code, output = deploy(str(full), "--target", target, "--apply", str(tampered))
    assert code == 2, output
    assert "is malformed: plan.statements is missing or not a list" in output

    code, output = deploy(str(full), "--target", target, "--apply", str(tmp_path / "none.json"))
    assert code == 2 and "does not exist" in output
    code, output = deploy(str(full), "--target", target, "--apply", "--out", str(plan_file))
    assert code == 2 and "cannot be combined" in output
    MYSQL_BACKEND.query(admin, "DROP USER %s@'%%'", (other_user,))
    assert fingerprint(admin) == before


# -- the lock ------------------------------------------------------------------------------


def _lock_connection(info: Any) -> Any:
    return MYSQL_BACKEND.connect(info.host, info.port, info.admin_user, info.admin_password)


def test_two_concurrent_applies_create_once(server, admin, tmp_path):
    """Two ``harness deploy --apply`` processes released at once: one creates, one finds nothing."""
    prefix = new_prefix()
    user, password = f"dep_{prefix}", f"pw-{prefix}-Lock1"
    create_user(admin, user, password, None, prefix)
    full = write_pipeline(tmp_path, prefix)
    env = {**os.environ, "HARNESS_TARGET_PASSWORD": password}
    command = harness_command("deploy", str(full), "--target", url(server, user, None), "--apply")

    def nothing_created() -> None:
        assert not [s for s in fingerprint(admin)["schemas"] if s.startswith(f"{prefix}_")]

    holder = _lock_connection(server)
    try:
        texts = applies_released_together(
            command, env, tmp_path, (MYSQL_BACKEND, holder), nothing_created
        )
    finally:
        holder.close()
    every = expected_names(prefix, range(len(SCENARIO.manifests)))
    created = [section(text, "created tables") for text in texts]
    assert sorted(created, key=len) == [set(), every], texts
    second = texts[created.index(set())]
    # The second planned only after the first had finished: it found everything present.
    assert "apply: nothing to create" in second
    assert section(second, "tables to create") == set()
    assert section(second, "present and matching") == every
    assert all("deploy lock taken" in text for text in texts)


def test_lock_held_too_long_is_a_clear_refusal(server, admin, tmp_path):
    prefix = new_prefix()
    user, password = f"dep_{prefix}", f"pw-{prefix}-Lock2"
    create_user(admin, user, password, None, prefix)
    holder = _lock_connection(server)
    try:
        assert MYSQL_BACKEND.try_lock(holder, LOCK_NAME, 0)
        holder_id = MYSQL_BACKEND.query(holder, "SELECT CONNECTION_ID()")[0][0]
        before = fingerprint(admin)
        code, output = deploy(
            str(write_pipeline(tmp_path, prefix)),
            "--target",
            url(server, user, password),
            "--apply",
            "--lock-timeout",
            "1",
        )
    finally:
        holder.close()
    assert code == 1, output
    assert "timed out after 1 s waiting for the deploy lock" in output
    assert f"session {holder_id}" in output
    assert "--lock-timeout" in output
    assert fingerprint(admin) == before


@pytest.mark.parametrize("backend_name", ["mysql", "postgresql"])
def test_lock_adapter_excludes_a_second_session_until_released(backend_name, server):
    """The Backend adapters' lock on real servers: taken once, waited for, released."""
    backend = get_backend(backend_name)
    if backend_name == "mysql":
        info, context = server, None
    else:
        context = started_server(backend_name, POSTGRES, RunIdentity.new())
        info = context.__enter__()
    try:
        first, second = (
            backend.connect(info.host, info.port, info.admin_user, info.admin_password)
            for _ in range(2)
        )
        try:
            assert backend.try_lock(first, "eh-test-lock", 0)
            assert not backend.try_lock(second, "eh-test-lock", 1)
            assert backend.lock_holder(second, "eh-test-lock")
            backend.release_lock(first, "eh-test-lock")
            assert backend.try_lock(second, "eh-test-lock", 1)
            assert not backend.try_lock(first, "eh-test-lock", 0)
            second.close()  # the server releases a closed session's lock
            assert backend.try_lock(first, "eh-test-lock", 5)
            assert backend.lock_holder(first, "eh-test-lock-other") is None
            backend.release_lock(first, "eh-test-lock")
        finally:
            for connection in (first, second):
                with suppress(*backend.driver_errors()):
                    connection.close()
    finally:
        if context is not None:
            context.__exit__(None, None, None)


# -- rehearsal -----------------------------------------------------------------------------


def test_rehearsal_catches_a_statement_the_target_rejects(server, admin, tmp_path):
    """A lab's own table holds the foreign-key constraint name MySQL would give a new table.

    The planner cannot see it (``~`` tables are not DataJoint's), so the plan is clean;
    the server rejects the ``CREATE TABLE``. Rehearsal finds it on the copy first.
    """
    import pymysql

    prod = make_production(server, admin, tmp_path, None)
    with loaded_pipeline(load_pipeline(prod.full)) as elements:
        plan = compute_plan(MYSQL_BACKEND, admin, elements)
    victim = next(t for t in plan.all(CREATE) if "FOREIGN KEY" in t.ddl[-1])
    statement = victim.ddl[-1]
    name = _CREATE.search(statement)
    assert name is not None, statement
    schema, table = name["schema"], name["table"]
    explicit = re.search(r"CONSTRAINT `([^`]+)` FOREIGN KEY", statement)
    constraint = explicit.group(1) if explicit else f"{table}_ibfk_1"
    for sql in (
        f"CREATE DATABASE IF NOT EXISTS `{schema}`",
        f"CREATE TABLE `{schema}`.`~lab_parent` (id int PRIMARY KEY)",
        f"CREATE TABLE `{schema}`.`~lab_notes` (id int, CONSTRAINT `{constraint}` "
        f"FOREIGN KEY (id) REFERENCES `{schema}`.`~lab_parent` (id))",
    ):
        MYSQL_BACKEND.query(admin, sql)
    before = fingerprint(admin)

    code, output = deploy(
        str(prod.full), "--target", url(server, prod.user, prod.password), "--apply"
    )
    assert code == 1, output
    assert "rehearsal: loaded the target's DDL of" in output
    assert "rehearsal FAILED" in output
    rejected = output.split("statement the server rejected:", 1)[1]
    assert _CREATE.search(rejected)[0] == name[0], rejected
    assert f"Duplicate foreign key constraint name '{constraint}'" in output
    assert "refusing to apply: nothing was changed on the target" in output
    assert "\nactivating" not in output  # the target's activation never started
    assert fingerprint(admin) == before
    assert rehearsal_containers() == []

    # The target would indeed have rejected the statement (a failed CREATE creates nothing).
    # Its parents may be tables the plan creates first: foreign-key checks off lets the
    # target judge this one statement alone; constraint names are checked all the same.
    MYSQL_BACKEND.query(admin, "SET SESSION foreign_key_checks = 0")
    try:
        with pytest.raises(pymysql.err.MySQLError) as caught:
            MYSQL_BACKEND.query(admin, statement)
    finally:
        MYSQL_BACKEND.query(admin, "SET SESSION foreign_key_checks = 1")
    assert caught.value.args[0] == 1826, caught.value
    assert fingerprint(admin) == before


def test_rehearsal_runs_by_default_and_leaves_no_container(server, admin, tmp_path):
    prod = make_production(server, admin, tmp_path, None)
    target = url(server, prod.user, prod.password)
    code, output = deploy(str(prod.full), "--target", target, "--apply")
    assert code == 0, output
    loaded = re.search(
        r"rehearsal: loaded the target's DDL of (\d+) schema\(s\), (\d+) table", output
    )
    assert loaded is not None, output
    # Every existing table of the affected schemas was copied (DataJoint's ~log included).
    assert int(loaded.group(2)) >= len(prod.existing)
    assert f"rehearsal passed: {len(remaining_names(prod.prefix))} table(s)" in output
    assert section(output, "created tables") == remaining_names(prod.prefix)
    assert rehearsal_containers() == []


def test_no_rehearse_applies_without_a_rehearsal(server, admin, tmp_path):
    prefix = new_prefix()
    user, password = f"dep_{prefix}", f"pw-{prefix}-NoReh"
    create_user(admin, user, password, None, prefix)
    code, output = deploy(
        str(write_pipeline(tmp_path, prefix)),
        "--target",
        url(server, user, password),
        "--apply",
        "--no-rehearse",
    )
    assert code == 0, output
    assert "rehearsal" not in output
    assert section(output, "created tables") == expected_names(
        prefix, range(len(SCENARIO.manifests))
    )


def test_mariadb_target_is_rehearsed_on_mariadb(mariadb_server, tmp_path):
    """A ``mysql://`` URL that leads to MariaDB: the copy is MariaDB too, loaded with its DDL."""
    connection = MYSQL_BACKEND.connect(
        mariadb_server.host,
        mariadb_server.port,
        mariadb_server.admin_user,
        mariadb_server.admin_password,
    )
    try:
        prod = make_production(mariadb_server, connection, tmp_path, None)
        before = fingerprint(connection)
        code, output = deploy(
            str(prod.full), "--target", url(mariadb_server, prod.user, prod.password), "--apply"
        )
        assert code == 0, output
        assert re.search(r"rehearsal: mariadb 10\.11\S* \(image \S*mariadb", output), output
        assert "rehearsal: note" not in output  # same server version as the target
        assert "rehearsal passed" in output
        assert section(output, "created tables") == remaining_names(prod.prefix)
        after = fingerprint(connection)
        assert {k: v for k, v in after["tables"].items() if k in prod.existing} == {
            k: v for k, v in before["tables"].items() if k in prod.existing
        }
    finally:
        connection.close()
    assert rehearsal_containers() == []


def test_rehearsal_server_that_cannot_start_is_a_clear_error(server, admin, tmp_path):
    prefix = new_prefix()
    user, password = f"dep_{prefix}", f"pw-{prefix}-NoImg"
    create_user(admin, user, password, None, prefix)
    before = fingerprint(admin)
    code, output = deploy(
        str(write_pipeline(tmp_path, prefix)),
        "--target",
        url(server, user, password),
        "--apply",
        "--rehearse-image",
        "element-harness/no-such-image:0",
    )
    assert code == 2, output
    assert "cannot start the rehearsal server: image 'element-harness/no-such-image:0'" in output
    assert "--no-rehearse" in output
    assert "\nactivating" not in output
    assert fingerprint(admin) == before


# -- rehearsal on PostgreSQL ---------------------------------------------------------------

PG_BACKEND = get_backend("postgresql")
PG_RUN = RunIdentity.new()
PG_PASSWORD = "pg-Rehearse-Secret5"

#: A schema using what DataJoint's PostgreSQL tables and a lab's own objects use.
PG_SOURCE = (
    'CREATE SCHEMA "pgc_a"',
    'CREATE SCHEMA "pgc Mixed"',
    "CREATE TYPE pgc_a.enum_1 AS ENUM ('low', 'high', 'it''s')",
    "CREATE DOMAIN pgc_a.percent AS numeric(5,2) DEFAULT 0 NOT NULL "
    "CONSTRAINT in_range CHECK (VALUE BETWEEN 0 AND 100)",
    "CREATE TYPE pgc_a.point3 AS (x double precision, y double precision, z double precision)",
    "CREATE SEQUENCE pgc_a.ticket START 40 INCREMENT 5",
    "CREATE TABLE pgc_a.subject (subject varchar(16) NOT NULL, born date DEFAULT '2020-01-02', "
    'grade pgc_a.enum_1, score pgc_a.percent, spot pgc_a.point3, code text COLLATE "C", '
    "ticket int DEFAULT nextval('pgc_a.ticket'), PRIMARY KEY (subject), "
    "CONSTRAINT code_short CHECK (length(code) < 9), UNIQUE (code))",
    'CREATE TABLE pgc_a."~log" (id serial PRIMARY KEY, at timestamp DEFAULT now(), '
    "event varchar(255) NOT NULL)",
    'CREATE TABLE "pgc Mixed"."Session" (subject varchar(16) NOT NULL, '
    "session int GENERATED BY DEFAULT AS IDENTITY, stamp bigint GENERATED ALWAYS AS "
    "(session * 2) STORED, note json, PRIMARY KEY (subject, session), FOREIGN KEY (subject) "
    "REFERENCES pgc_a.subject (subject) ON UPDATE CASCADE ON DELETE RESTRICT)",
    'CREATE INDEX idx_session_note ON "pgc Mixed"."Session" (subject, stamp DESC)',
    'ALTER TABLE "pgc Mixed"."Session" REPLICA IDENTITY FULL',
    "CREATE VIEW pgc_a.recent AS SELECT subject, born FROM pgc_a.subject WHERE born > '2020-01-01'",
    "COMMENT ON TABLE pgc_a.subject IS 'a subject of the lab'",
    "COMMENT ON COLUMN pgc_a.subject.spot IS ':<blob>:where it''s kept \\ (mm)'",
    'COMMENT ON TABLE "pgc Mixed"."Session" IS \'session of a subject\'',
    'COMMENT ON COLUMN "pgc Mixed"."Session".note IS \':<json>:\'',
)


def pg_describe(connection: Any, schemas: list[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Everything the copy must reproduce, printed by the server itself, names qualified."""
    queries = {
        "relations": "SELECT n.nspname, c.relname, c.relkind, c.relreplident, "
        "obj_description(c.oid, 'pg_class') FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE n.nspname = ANY(%s) ORDER BY 1, 2",
        "columns": "SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), "
        "a.attnotnull, a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid), "
        "co.collname, col_description(c.oid, a.attnum) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum "
        "LEFT JOIN pg_collation co ON co.oid = a.attcollation "
        "WHERE n.nspname = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped "
        "AND c.relkind <> 'i' ORDER BY 1, 2, a.attnum",
        "constraints": "SELECT n.nspname, conrelid::regclass::text, contypid::regtype::text, "
        "conname, pg_get_constraintdef(k.oid) FROM pg_constraint k JOIN pg_namespace n "
        "ON n.oid = k.connamespace WHERE n.nspname = ANY(%s) ORDER BY 1, 2, 3, 4",
        "indexes": "SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes "
        "WHERE schemaname = ANY(%s) ORDER BY 1, 2, 3",
        "types": "SELECT n.nspname, t.typname, t.typtype, format_type(t.typbasetype, t.typtypmod), "
        "t.typnotnull, t.typdefault, (SELECT array_agg(enumlabel::text ORDER BY enumsortorder) "
        "FROM pg_enum WHERE enumtypid = t.oid) FROM pg_type t JOIN pg_namespace n "
        "ON n.oid = t.typnamespace WHERE n.nspname = ANY(%s) ORDER BY 1, 2",
        "sequences": "SELECT schemaname, sequencename, data_type::text, start_value, increment_by "
        "FROM pg_sequences WHERE schemaname = ANY(%s) ORDER BY 1, 2",
    }
    PG_BACKEND.query(connection, "BEGIN READ ONLY")
    try:
        PG_BACKEND.query(connection, "SET LOCAL search_path = pg_catalog")
        return {
            name: PG_BACKEND.query(connection, sql, (schemas,)) for name, sql in queries.items()
        }
    finally:
        PG_BACKEND.query(connection, "ROLLBACK")


def test_postgresql_schema_is_copied_exactly_and_read_only():
    """The catalog's DDL of two schemas (referencing each other), loaded on another server,
    gives the same catalog there; reading it changes nothing; the user's settings follow."""
    schemas = ["pgc_a", "pgc Mixed"]
    with (
        started_server("postgresql", POSTGRES, PG_RUN) as source_info,
        started_server("postgresql", POSTGRES, PG_RUN) as copy_info,
    ):
        source, copy = (
            PG_BACKEND.connect(i.host, i.port, i.admin_user, i.admin_password)
            for i in (source_info, copy_info)
        )
        try:
            for sql in PG_SOURCE:
                PG_BACKEND.query(source, sql)
            before = pg_describe(source, schemas)
            path = PG_BACKEND.query(source, "SHOW search_path")
            # The referencing schema first: the load must order the statements itself.
            statements = PG_BACKEND.schema_ddl(source, "pgc Mixed")
            statements += PG_BACKEND.schema_ddl(source, "pgc_a")
            assert pg_describe(source, schemas) == before
            assert PG_BACKEND.query(source, "SHOW search_path") == path
            PG_BACKEND.load_ddl(copy, statements)
            after = pg_describe(copy, schemas)
            for part, rows in before.items():
                assert after[part] == rows, part
            assert PG_BACKEND.read_schemas(copy, schemas) == PG_BACKEND.read_schemas(
                source, schemas
            )

            # The settings a deploying role's sessions get reach new sessions on the copy.
            PG_BACKEND.query(source, "CREATE ROLE pgc_deployer LOGIN PASSWORD %s", (PG_PASSWORD,))
            PG_BACKEND.query(
                source,
                'ALTER ROLE pgc_deployer SET search_path = "pgc Mixed", pgc_a, public',
            )
            PG_BACKEND.query(source, "ALTER ROLE pgc_deployer SET \"DateStyle\" = 'SQL, DMY'")
            PG_BACKEND.query(source, "ALTER ROLE pgc_deployer SET \"TimeZone\" = 'Europe/Berlin'")
            deployer = PG_BACKEND.connect(
                source_info.host, source_info.port, "pgc_deployer", PG_PASSWORD
            )
            try:
                copied = PG_BACKEND.copy_server_settings(deployer, copy)
            finally:
                deployer.close()
            assert {"search_path", "DateStyle", "standard_conforming_strings"} <= set(copied)
            fresh = PG_BACKEND.connect(
                copy_info.host, copy_info.port, copy_info.admin_user, copy_info.admin_password
            )
            try:
                assert PG_BACKEND.query(fresh, "SHOW search_path")[0][0] == (
                    '"pgc Mixed", pgc_a, public'
                )
                # psycopg2 asks every session for ISO output; the field order is the setting's.
                assert PG_BACKEND.query(fresh, "SHOW DateStyle")[0][0] == "ISO, DMY"
                assert PG_BACKEND.query(fresh, "SHOW TimeZone")[0][0] == "Europe/Berlin"
            finally:
                fresh.close()
        finally:
            source.close()
            copy.close()


@pytest.fixture(scope="module")
def pg_server() -> Any:
    with started_server("postgresql", POSTGRES, PG_RUN) as info:
        yield info


@pytest.fixture(scope="module")
def pg_admin(pg_server: Any) -> Any:
    connection = PG_BACKEND.connect(
        pg_server.host, pg_server.port, pg_server.admin_user, pg_server.admin_password
    )
    yield connection
    connection.close()


def pg_pipeline(directory: Any, prefix: str, *, first_only: bool = False) -> Any:
    """``samples.toml`` under ``prefix``; ``first_only``: its first Element alone."""
    from harness.deploy.spec import PIPELINE_DIR

    text = (PIPELINE_DIR / "samples.toml").read_text(encoding="utf-8")
    text = text.replace('"smp_', f'"{prefix}_')
    if first_only:
        head, first, _ = text.split("[[element]]", 2)
        text = f"{head}[[element]]{first}".replace('name = "samples"', 'name = "samples-lab"')
    path = directory / f"{prefix}{'-lab' if first_only else ''}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def pg_deployer(admin: Any, name: str) -> str:
    """A role that may create schemas in the database (and owns what it creates)."""
    PG_BACKEND.query(admin, f'CREATE ROLE "{name}" LOGIN PASSWORD %s', (PG_PASSWORD,))
    PG_BACKEND.query(admin, f'GRANT CREATE ON DATABASE postgres TO "{name}"')
    return f"postgresql://{name}:{PG_PASSWORD}@127.0.0.1"


def pg_state(admin: Any, prefix: str) -> dict[str, list[tuple[Any, ...]]]:
    schemas = [
        row[0]
        for row in PG_BACKEND.query(
            admin, "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)", (prefix,)
        )
    ]
    return pg_describe(admin, schemas) | {"schemas": sorted((s,) for s in schemas)}


def _needs_datajoint_2(tmp_path: Any) -> bool:
    """Under DataJoint 0.14 a PostgreSQL deploy is refused before connecting (asserted)."""
    from harness.activation import compat

    if compat.major_version() >= 2:
        return True
    code, output = deploy(
        str(pg_pipeline(tmp_path, "pgz")), "--target", "postgresql://u:pw-Pg-9@127.0.0.1:1"
    )
    assert code == 2 and "DataJoint 0.14 has no PostgreSQL" in output, output
    return False


def test_postgresql_rehearsal_catches_a_statement_the_target_rejects(pg_server, pg_admin, tmp_path):
    """A lab's own type in a schema holds the name a new table's row type needs.

    The plan reads tables, not types, so it is clean; PostgreSQL rejects the
    ``CREATE TABLE``. The copy has the type too, so the rehearsal finds it first.
    """
    import psycopg2

    if not _needs_datajoint_2(tmp_path):
        return
    target = pg_deployer(pg_admin, "pgr_deployer") + f":{pg_server.port}"
    PG_BACKEND.query(pg_admin, 'CREATE SCHEMA "pgr_lab" AUTHORIZATION "pgr_deployer"')
    PG_BACKEND.query(pg_admin, "CREATE TYPE \"pgr_lab\".\"lab\" AS ENUM ('open', 'closed')")
    path = pg_pipeline(tmp_path, "pgr")
    code, output = deploy(str(path), "--target", target)
    assert code == 0 and "drift: 0 table(s)" in output, output
    with loaded_pipeline(load_pipeline(path), None, "postgresql") as elements:
        plan = compute_plan(PG_BACKEND, pg_admin, elements)
    lab = next(t for t in plan.all(CREATE) if t.name == "pgr_lab.Lab")
    statement = next(s for s in lab.ddl if s.startswith("CREATE TABLE"))
    assert 'CREATE TABLE IF NOT EXISTS "pgr_lab"."lab"' in statement, statement
    before = pg_state(pg_admin, "pgr_")

    code, output = deploy(str(path), "--target", target, "--apply")
    assert code == 1, output
    assert "rehearsal: loaded the target's DDL of 1 schema(s), 0 table(s)" in output
    assert "rehearsal FAILED" in output
    rejected = output.split("statement the server rejected:", 1)[1]
    assert 'CREATE TABLE IF NOT EXISTS "pgr_lab"."lab"' in rejected.split("error:")[0], output
    assert 'type "lab" already exists' in output
    assert "refusing to apply: nothing was changed on the target" in output
    assert "\nactivating" not in output
    assert pg_state(pg_admin, "pgr_") == before
    assert rehearsal_containers() == []
    assert PG_PASSWORD not in output

    # The target would indeed have rejected it (and a rejected CREATE creates nothing).
    PG_BACKEND.query(pg_admin, "BEGIN")
    try:
        with pytest.raises(psycopg2.errors.DuplicateObject):
            PG_BACKEND.query(pg_admin, statement)
    finally:
        PG_BACKEND.query(pg_admin, "ROLLBACK")
    assert pg_state(pg_admin, "pgr_") == before


def test_postgresql_target_is_rehearsed_then_applied(pg_server, pg_admin, tmp_path):
    """A target holding one Element's tables: the copy gets them, the rest is rehearsed
    there, then created on the target; the existing tables are untouched."""
    if not _needs_datajoint_2(tmp_path):
        return
    target = pg_deployer(pg_admin, "pgn_deployer") + f":{pg_server.port}"
    code, output = deploy(
        str(pg_pipeline(tmp_path, "pgn", first_only=True)), "--target", target, "--apply"
    )
    assert code == 0, output
    existing = pg_state(pg_admin, "pgn_")
    tables = [r for r in existing["relations"] if r[2] == "r"]
    assert tables, output

    code, output = deploy(str(pg_pipeline(tmp_path, "pgn")), "--target", target, "--apply")
    assert code == 0, output
    loaded = re.search(
        r"rehearsal: loaded the target's DDL of 1 schema\(s\), (\d+) table\(s\); "
        r"settings copied: search_path, ",
        output,
    )
    assert loaded is not None and int(loaded.group(1)) == len(tables), output
    created = section(output, "created tables")
    assert f"rehearsal passed: {len(created)} table(s) created and verified on the copy" in output
    assert {name.split(".")[0] for name in created} == {"pgn_recording", "pgn_device"}
    assert "verified: 12 table(s) match their manifests" in output
    after = pg_state(pg_admin, "pgn_")
    for part, rows in existing.items():
        kept = [row for row in after[part] if row[0] == "pgn_lab"]
        assert kept == [row for row in rows if row[0] == "pgn_lab"], part
    assert rehearsal_containers() == []
