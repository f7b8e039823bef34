"""Who owns each namespace on a server, so that a dead run's leftovers can be swept.

A container started for one run disappears with it, but a reused container or an
external server outlives runs, and a run killed with SIGKILL cannot drop its
schemas and user. Each namespace is therefore recorded, before its user is
created, in a small table on the server itself (``element_harness.namespaces``:
prefix, owning pid, its start time, host, and the owner's kernel identity, see
:mod:`harness.runinfo`); a later run drops the namespaces whose owner is gone and
never one whose owner is alive. A registry made by an older harness gets the
``owner`` column the first time this one sweeps it; its rows without one are
judged by the start time, as before.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable
from typing import Any

from harness.db.backends.base import REGISTRY_SCHEMA, Backend
from harness.runinfo import owner_alive, process_identity, process_start_time

_TABLE = f"{REGISTRY_SCHEMA}.namespaces"
_swept: set[tuple[str, int]] = set()


#: Tries at creating the registry when other runs are creating it at the same time.
_CREATE_ATTEMPTS = 5


def _ensure_table(backend: Backend, admin: Any) -> None:
    """Create the registry if it is missing.

    Several runs may get here at once. PostgreSQL's ``IF NOT EXISTS`` does not make
    concurrent creations safe: the loser fails on a catalog unique index, possibly
    before the winner has created the table as well. A failure is therefore
    accepted when the table exists afterwards, and otherwise tried again (the
    schema then exists), a bounded number of times.
    """
    for attempt in range(1, _CREATE_ATTEMPTS + 1):
        try:
            backend.query(admin, f"CREATE SCHEMA IF NOT EXISTS {REGISTRY_SCHEMA}")
            backend.query(
                admin,
                f"CREATE TABLE IF NOT EXISTS {_TABLE} (prefix varchar(32) PRIMARY KEY, "
                "pid integer NOT NULL, started double precision NOT NULL, "
                "host varchar(255) NOT NULL, owner varchar(64))",
            )
            return
        except backend.driver_errors():
            if _table_exists(backend, admin):
                return
            if attempt == _CREATE_ATTEMPTS:
                raise
            time.sleep(0.05 * attempt)


def _table_exists(backend: Backend, admin: Any) -> bool:
    """Whether the registry table exists (its schema alone may be another run's half-way)."""
    return _in_catalog(backend, admin, "tables")


def _has_owner_column(backend: Backend, admin: Any) -> bool:
    return _in_catalog(backend, admin, "columns", "AND column_name = 'owner'")


def _in_catalog(backend: Backend, admin: Any, view: str, condition: str = "") -> bool:
    """Whether ``information_schema.<view>`` lists the registry table (and ``condition``)."""
    query = (
        f"SELECT 1 FROM information_schema.{view} "
        f"WHERE table_schema = %s AND table_name = 'namespaces' {condition}"
    )
    return bool(backend.query(admin, query, (REGISTRY_SCHEMA,)))


def _ensure_owner_column(backend: Backend, admin: Any) -> bool:
    """Give a registry an older harness made its ``owner`` column; whether it has one now.

    Another run may add it at the same moment (its success is ours). An account
    that may write the registry but not alter it (an external server's registry
    made by another account) keeps using it without the column, as before.
    """
    if _has_owner_column(backend, admin):
        return True
    try:
        backend.query(admin, f"ALTER TABLE {_TABLE} ADD COLUMN owner varchar(64)")
    except backend.driver_errors():
        return _has_owner_column(backend, admin)
    return True


def register(backend: Backend, admin: Any, prefix: str) -> None:
    """Record that this process owns ``prefix`` (before anything of it exists)."""
    _ensure_table(backend, admin)
    pid = os.getpid()
    row = {
        "prefix": prefix,
        "pid": pid,
        "started": process_start_time(pid) or time.time(),
        "host": socket.gethostname(),
        "owner": process_identity(pid),
    }
    try:
        _insert(backend, admin, row)
    except backend.driver_errors():
        if _has_owner_column(backend, admin):
            raise
        # A registry made before the column existed, and perhaps one this account cannot alter.
        if not _ensure_owner_column(backend, admin):
            del row["owner"]
        _insert(backend, admin, row)


def _insert(backend: Backend, admin: Any, row: dict[str, Any]) -> None:
    columns = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    backend.query(admin, f"INSERT INTO {_TABLE} ({columns}) VALUES ({marks})", tuple(row.values()))


def unregister(backend: Backend, admin: Any, prefix: str) -> None:
    backend.query(admin, f"DELETE FROM {_TABLE} WHERE prefix = %s", (prefix,))


def sweep_dead_namespaces(backend: Backend, admin: Any, server_key: tuple[str, int]) -> list[str]:
    """Drop the namespaces whose owning process is gone; once per server and process."""
    if server_key in _swept:
        return []
    _swept.add(server_key)
    if not _table_exists(backend, admin):
        return []
    owner_column = "owner" if _ensure_owner_column(backend, admin) else "NULL"
    host = socket.gethostname()
    dropped = []
    for prefix, pid, started, owner_host, owner in backend.query(
        admin, f"SELECT prefix, pid, started, host, {owner_column} FROM {_TABLE}"
    ):
        if owner_host != host or owner_alive(int(pid), float(started), owner):
            continue  # another host's processes are not ours to judge
        backend.drop_namespace(admin, prefix, prefix)
        unregister(backend, admin, prefix)
        dropped.append(prefix)
    return dropped


def forget_swept(server_key: tuple[str, int]) -> None:
    """Allow :func:`sweep_dead_namespaces` to run again for a server in this process."""
    _swept.discard(server_key)


def unclaimed_schemas(backend: Backend, admin: Any, schemas: Iterable[str]) -> list[str]:
    """Those of ``schemas`` (listed earlier) that no registered namespace owns.

    On a shared server (``--reuse``, ``--external``, concurrent runs) other checks
    create schemas under their own prefixes while this one runs: those are not this
    Element's doing, and counting them as a namespace violation fails a clean Element.
    The registry is read *after* ``schemas`` were listed and the schemas are listed
    again after that: a namespace registers before it creates anything and
    unregisters only after dropping everything, so a schema present at both listings
    belongs to a namespace the registry read in between still shows. No race.
    """
    candidates = set(schemas)
    if not candidates:
        return []
    prefixes: set[str] = set()
    if _table_exists(backend, admin):
        prefixes = {row[0] for row in backend.query(admin, f"SELECT prefix FROM {_TABLE}")}
    still_there = candidates & backend.all_schemas(admin)
    return sorted(
        schema
        for schema in still_there
        if not any(schema.startswith(prefix + "_") for prefix in prefixes)
    )
