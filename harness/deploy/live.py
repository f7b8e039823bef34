"""What a production server holds in an explicit list of schemas, read-only.

:func:`harness.db.catalog.read_mysql_catalog` reads a harness namespace (every
schema ``<prefix>_*``) and reports stems; a deploy targets schemas the lab
named, under any names, and must report them by their real names. Same
queries and normalisation, ``IN (...)`` instead of ``LIKE``, and nothing but
``SELECT`` on ``information_schema``, so reading is safe on a live server.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from harness.db.backends.base import Backend
from harness.db.catalog import (
    Attribute,
    ForeignKey,
    Table,
    classify_table_name,
    normalize_default,
    normalize_type,
    split_comment,
)
from harness.errors import ConfigurationError


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
    if backend.name == "postgresql":
        raise ConfigurationError(
            "harness deploy supports MySQL and MariaDB targets only",
            hint="deploying to PostgreSQL is not implemented yet",
        )
    names = sorted(set(schemas))
    if not names:
        return []
    marks = ", ".join(["%s"] * len(names))
    tables: dict[tuple[str, str], Table] = {}
    for schema, name, comment in backend.query(
        connection,
        "SELECT table_schema, table_name, table_comment FROM information_schema.tables "
        f"WHERE table_schema IN ({marks}) ORDER BY table_schema, table_name",
        names,
    ):
        described = classify_table_name(name)
        if described is None:
            continue
        class_name, tier, master = described
        tables[(schema, name)] = Table(
            schema=schema,
            name=class_name,
            tier=tier,
            master=master,
            primary_key=[],
            comment=comment or "",
        )
    for schema, name, column, column_type, nullable, default, comment, key in backend.query(
        connection,
        "SELECT table_schema, table_name, column_name, column_type, is_nullable, "
        "column_default, column_comment, column_key FROM information_schema.columns "
        f"WHERE table_schema IN ({marks}) ORDER BY table_schema, table_name, ordinal_position",
        names,
    ):
        table = tables.get((schema, name))
        if table is None:
            continue
        is_nullable = nullable == "YES"
        text, core_type = split_comment(comment)
        table.attributes.append(
            Attribute(
                column,
                normalize_type(column_type),
                is_nullable,
                normalize_default(default, is_nullable),
                text,
                core_type,
            )
        )
        if key == "PRI":
            table.primary_key.append(column)
    grouped: dict[tuple[str, str, str], ForeignKey] = {}
    for (
        schema,
        name,
        constraint,
        column,
        parent_schema,
        parent_table,
        parent_column,
    ) in backend.query(
        connection,
        "SELECT table_schema, table_name, constraint_name, column_name, "
        "referenced_table_schema, referenced_table_name, referenced_column_name "
        f"FROM information_schema.key_column_usage WHERE table_schema IN ({marks}) "
        "AND referenced_table_name IS NOT NULL "
        "ORDER BY table_schema, table_name, constraint_name, ordinal_position",
        names,
    ):
        table = tables.get((schema, name))
        parent = classify_table_name(parent_table)
        if table is None or parent is None:
            continue
        group = grouped.setdefault(
            (schema, name, constraint),
            ForeignKey(parent=f"{parent_schema}.{parent[0]}", attributes={}),
        )
        if not group.attributes:
            table.foreign_keys.append(group)
        group.attributes[column] = parent_column
        if any(a.name == column and a.nullable for a in table.attributes):
            group.nullable = True
    for table in tables.values():
        table.foreign_keys.sort(key=lambda fk: (fk.parent, sorted(fk.attributes.items())))
    return sorted(tables.values(), key=lambda t: (t.schema, t.name))
