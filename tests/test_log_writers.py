"""One ``~log`` writer per schema: the same audit entries, fewer questions to the server.

On a real MySQL server, the same three tables are declared in two schemas, once as
DataJoint does it alone and once within :func:`log_writers_shared`. Under DataJoint
0.14 both schemas end with the same ``~log`` entries, and the shared writer asks the
server fewer questions; a silent block nested inside writes nothing and gives the
outer writers back. DataJoint 2.x keeps no ``~log``: the block leaves it untouched.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import MYSQL, started_server

from harness.activation import compat
from harness.activation.log_writers import log_writers_shared
from harness.db.server import ServerInfo
from harness.runinfo import RunIdentity

RUN = RunIdentity.new()
DJ014 = compat.major_version() < 2


@pytest.fixture(scope="module")
def server() -> Iterator[ServerInfo]:
    with started_server("mysql", MYSQL, RUN) as started:
        yield started


@pytest.fixture
def connection(server: ServerInfo) -> Iterator[Any]:
    with compat.connected(
        server.host, server.port, server.admin_user, server.admin_password, "mysql"
    ) as conn:
        yield conn


def _declare_three_tables(dj: Any, database: str) -> Any:
    schema = dj.Schema(database)

    @schema
    class Animal(dj.Manual):
        definition = """
        animal : int
        ---
        name : varchar(16)
        """

    @schema
    class Visit(dj.Manual):
        definition = """
        -> Animal
        visit : int
        """

        class Note(dj.Part):
            definition = """
            -> master
            note : int
            """

    return schema


def _drop(schema: Any) -> None:
    if DJ014:
        schema.drop(force=True)
    else:
        schema.drop(prompt=False)


def _questions(conn: Any) -> int:
    return int(conn.query("SHOW SESSION STATUS LIKE 'Questions'").fetchone()[1])


def _events(conn: Any, database: str) -> list[str]:
    rows = conn.query(f"SELECT event FROM `{database}`.`~log` ORDER BY id").fetchall()
    return [row[0].replace(database, "<schema>") for row in rows]


@pytest.mark.docker
def test_shared_writers_keep_every_entry_and_ask_the_server_less(connection: Any) -> None:
    dj = compat.datajoint()
    alone, shared = (f"eh_logtest_{secrets.token_hex(4)}_{side}" for side in ("a", "b"))
    schemas = []
    try:
        start = _questions(connection)
        schemas.append(_declare_three_tables(dj, alone))
        asked_alone = _questions(connection) - start
        start = _questions(connection)
        with log_writers_shared():
            schemas.append(_declare_three_tables(dj, shared))
        asked_shared = _questions(connection) - start
        if DJ014:
            entries = _events(connection, alone)
            assert [e for e in entries if e.startswith("Declared")] == [
                "Declared `<schema>`.`animal`",
                "Declared `<schema>`.`visit`",
                "Declared `<schema>`.`visit__note`",
            ]
            assert _events(connection, shared) == entries
            # Three tables: the writers of the second and third no longer ask whether
            # ~log exists, who the user is, and what ~log's heading is.
            assert asked_shared <= asked_alone - 8, (asked_alone, asked_shared)
        else:
            assert asked_shared == asked_alone
    finally:
        for schema in schemas:
            _drop(schema)


@pytest.mark.docker
def test_a_silent_block_writes_nothing_and_gives_the_shared_writers_back(
    connection: Any,
) -> None:
    dj = compat.datajoint()
    module = dj.table
    before = getattr(module, "Log", None)
    database = f"eh_logtest_{secrets.token_hex(4)}_s"
    schema = _declare_three_tables(dj, database)
    try:
        with log_writers_shared():
            outer = getattr(module, "Log", None)
            with log_writers_shared(silent=True):
                if DJ014:
                    silent = module.Log(connection, database)
                    silent("an entry nobody should see")
                    assert module.Log(connection, database) is silent
            assert getattr(module, "Log", None) is outer
            if DJ014:
                writer = module.Log(connection, database)
                assert writer is module.Log(connection, database) and writer is not silent
                writer("an entry everybody sees")
        assert getattr(module, "Log", None) is before
        if DJ014:
            events = _events(connection, database)
            assert "an entry everybody sees" in events
            assert "an entry nobody should see" not in events
        else:
            assert before is None  # 2.x has no ~log writer to share
    finally:
        _drop(schema)
