"""Fewer server round trips for the data round-trip: each table's heading loaded once.

DataJoint loads a table's heading from the server each time it builds a table
object for it, and its cascading delete (0.14) builds one for each child it
meets on each foreign-key error: hundreds of loads of definitions that cannot
change while the check runs (the namespace's schemas are fixed by then). Within
:func:`headings_loaded_once` the first load of each table is kept and later
ones copy it; the delete itself stays DataJoint's own, only its reading of
table definitions is shortened.

DataJoint 0.14 also builds a ``~log`` writer for each table object that deletes
rows, asking the server each time whether ``~log`` exists and who the user is,
and writes an audit entry after every ``DELETE`` of its cascade (a third of the
round trip's queries). Within :func:`deletes_not_logged` one writer per schema
is built and shared, and it writes nothing: the entries would record the
harness's own synthesized rows in a namespace dropped minutes later, and the
delete itself (what the check proves) is unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from harness.activation import compat
from harness.activation.log_writers import log_writers_shared
from harness.db.backends.mysql import MySQLBackend


def _where(heading: Any) -> tuple[str, str] | None:
    info = getattr(heading, "table_info", None)
    return (str(info.get("database")), str(info.get("table_name"))) if info else None


def _state(heading: Any) -> dict[str, Any]:
    return {
        k: dict(v) if isinstance(v, dict) else v
        for k, v in vars(heading).items()
        if k != "table_info"
    }


@contextlib.contextmanager
def headings_loaded_once(known: Iterable[Any] = ()) -> Iterator[None]:
    """Within the block, DataJoint loads each table's heading from the server once.

    ``known`` are headings already loaded from the server (those of the Element's
    activated table classes): they are not loaded again at all.
    """
    heading_class = compat.datajoint().heading.Heading
    original = getattr(heading_class, "_init_from_database", None)
    if original is None:  # a DataJoint that loads headings some other way: leave it be
        yield
        return
    loaded: dict[tuple[str, str], dict[str, Any]] = {}
    for heading in known:
        where = _where(heading)
        if where is not None and getattr(heading, "_attributes", None) is not None:
            loaded[where] = _state(heading)

    def init_from_database(heading: Any) -> None:
        where = _where(heading)
        if where is not None and where in loaded:
            heading.__dict__.update(
                {k: dict(v) if isinstance(v, dict) else v for k, v in loaded[where].items()}
            )
            return
        original(heading)
        if where is not None and getattr(heading, "_attributes", None) is not None:
            loaded[where] = _state(heading)

    heading_class._init_from_database = init_from_database
    try:
        yield
    finally:
        heading_class._init_from_database = original


@contextlib.contextmanager
def deletes_not_logged() -> Iterator[None]:
    """Within the block, DataJoint 0.14 shares one silent ``~log`` writer per schema."""
    with log_writers_shared(silent=True):
        yield


class _Rows:
    """What DataJoint reads from a query's cursor here: ``fetchall()``."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self._rows)


_ALL_CONSTRAINTS = (
    "SELECT CONSTRAINT_NAME, TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, "
    "CONCAT('`', REFERENCED_TABLE_SCHEMA, '`.`', REFERENCED_TABLE_NAME, '`'), "
    "REFERENCED_COLUMN_NAME FROM INFORMATION_SCHEMA.KEY_COLUMN_USAGE "
    "WHERE TABLE_SCHEMA LIKE %s AND REFERENCED_TABLE_NAME IS NOT NULL "
    "ORDER BY TABLE_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION"
)


@contextlib.contextmanager
def constraints_read_once(connection: Any, prefix: str) -> Iterator[None]:
    """Within the block, DataJoint 0.14's cascade reads foreign keys from one query.

    When MySQL's foreign-key error is too long to name the key's columns, the 0.14
    cascade asks ``INFORMATION_SCHEMA.KEY_COLUMN_USAGE`` for that one constraint:
    most steps of a large Element's cascade do (76 of 88 for element-calcium-imaging,
    each one of the slower queries of the round trip). The namespace's foreign keys
    cannot change while the round trip runs, so all of them are read once and the
    cascade's lookups are answered from that; any other query goes to the server.
    """
    lookup = getattr(compat.datajoint().table, "constraint_info_query", None)
    if lookup is None or "query" in vars(connection):  # 2.x, or already answered here
        yield
        return
    rows = connection.query(_ALL_CONSTRAINTS, args=(MySQLBackend.like_prefix(prefix),)).fetchall()
    known: dict[tuple[str, str, str], list[tuple[Any, ...]]] = {}
    for name, schema, table, column, parent, parent_column in rows:
        known.setdefault((name, schema, table), []).append((column, parent, parent_column))
    query = connection.query

    def answered(sql: str, args: Any = (), *more: Any, **options: Any) -> Any:
        if sql is lookup and tuple(args) in known:
            return _Rows(known[tuple(args)])
        return query(sql, args, *more, **options)

    connection.query = answered
    try:
        yield
    finally:
        del connection.query
