"""What a production server holds in an explicit list of schemas, read-only.

:meth:`~harness.db.backends.base.Backend.read_catalog` reads a harness namespace (every
schema ``<prefix>_*``) and reports stems; a deploy targets schemas the lab
named, under any names, and must report them by their real names. Same
queries and normalisation, ``IN (...)`` instead of ``LIKE``, and nothing but
``SELECT`` on ``information_schema``, so reading is safe on a live server.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.db.backends.base import Backend
from harness.db.catalog import Table


def existing_schemas(backend: Backend, connection: Any, schemas: Iterable[str]) -> set[str]:
    """Which of ``schemas`` exist (and are visible to the connecting user)."""
    names = sorted(set(schemas))
    if not names:
        return set()
    marks = ", ".join(["%s"] * len(names))
    rows = backend.query(
        connection,
        f"SELECT schema_name FROM information_schema.schemata WHERE schema_name IN ({marks})",
        names,
    )
    return {row[0] for row in rows}


def read_schemas(backend: Backend, connection: Any, schemas: Iterable[str]) -> list[Table]:
    """Every DataJoint table in ``schemas``; ``Table.schema`` is the full schema name."""
    return backend.read_schemas(connection, sorted(set(schemas)))
