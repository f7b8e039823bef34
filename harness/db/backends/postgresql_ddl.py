"""A PostgreSQL schema as statements that recreate it, empty, on another server.

PostgreSQL has no ``SHOW CREATE TABLE`` and the harness has no ``pg_dump`` (the
target may be remote, its version unknown), so the statements are built from
the catalog with the server's own printers (``format_type``,
``pg_get_expr``, ``pg_get_constraintdef``, ``pg_get_indexdef``) inside a
``READ ONLY`` transaction whose ``search_path`` is ``pg_catalog`` only: every
name those printers emit comes out schema-qualified, and nothing can be
written. A rehearsal (:mod:`harness.deploy.rehearsal`) loads them into a
throwaway server.

What is copied is what decides whether DataJoint's statements are accepted and
what they make: the schema; its enum types (DataJoint's ``enum`` attributes),
domains and composite types (a type holds the name a new table's row type
needs); sequences; every table with its columns (type, collation, ``NOT
NULL``, default, identity, generated), constraints (primary key, unique,
check, exclusion, foreign key), other indexes, replica identity and the
comments on tables and columns, where DataJoint keeps its tier and type
markers; views and materialized views as empty stand-ins with their names and
columns (their queries may read anything). Not copied: rows, privileges,
owners, triggers, policies, functions, tablespaces.

Statements of several schemas are loaded together (:func:`load_order`): types
before the tables using them, foreign keys after every table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Query = Callable[[str, Any], list[tuple[Any, ...]]]

_IDENT = r'(?:"(?:[^"]|"")*"|[^\s".]+)'
_QUALIFIED = rf"{_IDENT}\.{_IDENT}"
#: (pattern, phase) in the order a load must run them; anything else is phase 7.
_PHASES: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"CREATE SCHEMA "), 0),
    (re.compile(rf"CREATE TYPE {_QUALIFIED} AS ENUM "), 1),
    (re.compile(r"CREATE DOMAIN "), 2),
    (re.compile(r"CREATE TYPE "), 3),
    (re.compile(r"CREATE SEQUENCE "), 4),
    (re.compile(r"CREATE TABLE "), 5),
    (re.compile(r"CREATE (?:MATERIALIZED )?VIEW "), 6),
    (re.compile(rf"ALTER TABLE {_QUALIFIED} ADD CONSTRAINT {_IDENT} FOREIGN KEY "), 8),
)


def load_order(statements: list[str]) -> list[str]:
    """``statements`` of any number of schemas, stably reordered so that each one's
    dependencies (a type, a referenced table in another schema) exist when it runs."""

    def phase(statement: str) -> int:
        return next((p for pattern, p in _PHASES if pattern.match(statement)), 7)

    return sorted(statements, key=phase)


def schema_statements(query: Query, schema: str) -> list[str]:
    """The statements recreating ``schema``, read with ``query`` (run in a read-only
    transaction with ``search_path = pg_catalog``; see the module docstring)."""
    name = query("SELECT quote_ident(%s)", (schema,))[0][0]
    statements = [f"CREATE SCHEMA {name}"]
    statements += [
        f"COMMENT ON SCHEMA {name} IS {comment}"
        for (comment,) in query(
            "SELECT quote_literal(obj_description(oid, 'pg_namespace')) FROM pg_namespace "
            "WHERE nspname = %s AND obj_description(oid, 'pg_namespace') IS NOT NULL",
            (schema,),
        )
    ]
    statements += _types(query, schema, name)
    statements += _sequences(query, schema, name)
    statements += _relations(query, schema, name)
    statements += _constraints(query, schema, name)
    statements += [
        definition
        for (definition,) in query(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'm') AND NOT EXISTS ("
            "SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid "
            "AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x')) "
            "ORDER BY x.relname",
            (schema,),
        )
    ]
    statements += _owned_sequences(query, schema, name)
    return statements


def _types(query: Query, schema: str, name: str) -> list[str]:
    statements = [
        f"CREATE TYPE {name}.{type_name} AS ENUM ({labels})"
        for type_name, labels in query(
            "SELECT quote_ident(t.typname), coalesce(string_agg(quote_literal(e.enumlabel), "
            "', ' ORDER BY e.enumsortorder), '') FROM pg_type t "
            "JOIN pg_namespace n ON n.oid = t.typnamespace "
            "LEFT JOIN pg_enum e ON e.enumtypid = t.oid "
            "WHERE n.nspname = %s AND t.typtype = 'e' GROUP BY t.typname ORDER BY t.typname",
            (schema,),
        )
    ]
    for type_name, base, not_null, default, checks in query(
        "SELECT quote_ident(t.typname), format_type(t.typbasetype, t.typtypmod), t.typnotnull, "
        "t.typdefault, (SELECT string_agg(' CONSTRAINT ' || quote_ident(k.conname) || ' ' || "
        "pg_get_constraintdef(k.oid), '' ORDER BY k.conname) FROM pg_constraint k "
        "WHERE k.contypid = t.oid AND k.contype = 'c') FROM pg_type t "
        "JOIN pg_namespace n ON n.oid = t.typnamespace "
        "WHERE n.nspname = %s AND t.typtype = 'd' ORDER BY t.typname",
        (schema,),
    ):
        default_sql = f" DEFAULT {default}" if default is not None else ""
        statements.append(
            f"CREATE DOMAIN {name}.{type_name} AS {base}{default_sql}"
            f"{' NOT NULL' if not_null else ''}{checks or ''}"
        )
    statements += [
        f"CREATE TYPE {name}.{type_name} AS ({attributes or ''})"
        for type_name, attributes in query(
            "SELECT quote_ident(t.typname), string_agg(quote_ident(a.attname) || ' ' || "
            "format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) FROM pg_type t "
            "JOIN pg_namespace n ON n.oid = t.typnamespace "
            "JOIN pg_class r ON r.oid = t.typrelid AND r.relkind = 'c' "
            "LEFT JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 "
            "AND NOT a.attisdropped WHERE n.nspname = %s GROUP BY t.typname ORDER BY t.typname",
            (schema,),
        )
    ]
    return statements


def _sequences(query: Query, schema: str, name: str) -> list[str]:
    """Sequences of their own (``serial`` columns' too); an identity column makes its own."""
    statements = []
    for sequence, type_name, increment, low, high, start, cache, cycle in query(
        "SELECT quote_ident(c.relname), format_type(s.seqtypid, NULL), s.seqincrement, "
        "s.seqmin, s.seqmax, s.seqstart, s.seqcache, s.seqcycle FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_sequence s ON s.seqrelid = c.oid "
        "WHERE n.nspname = %s AND c.relkind = 'S' AND NOT EXISTS (SELECT 1 FROM pg_depend d "
        "WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'i') "
        "ORDER BY c.relname",
        (schema,),
    ):
        statements.append(
            f"CREATE SEQUENCE {name}.{sequence} AS {type_name} INCREMENT BY {int(increment)} "
            f"MINVALUE {int(low)} MAXVALUE {int(high)} START WITH {int(start)} "
            f"CACHE {int(cache)}{' CYCLE' if cycle else ''}"
        )
    return statements


def _owned_sequences(query: Query, schema: str, name: str) -> list[str]:
    return [
        f"ALTER SEQUENCE {name}.{sequence} OWNED BY {name}.{table}.{column}"
        for sequence, table, column in query(
            "SELECT quote_ident(s.relname), quote_ident(t.relname), quote_ident(a.attname) "
            "FROM pg_depend d JOIN pg_class s ON s.oid = d.objid "
            "JOIN pg_namespace n ON n.oid = s.relnamespace JOIN pg_class t ON t.oid = d.refobjid "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid "
            "WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass "
            "AND d.deptype = 'a' AND s.relkind = 'S' AND n.nspname = %s ORDER BY 1",
            (schema,),
        )
    ]


def _column_sql(row: tuple[Any, ...]) -> str:
    _, column, type_sql, not_null, identity, generated, default, collation, _ = row
    parts = [column, type_sql]
    if collation:
        parts.append(f"COLLATE {collation}")
    if identity:
        parts.append(f"GENERATED {'ALWAYS' if identity == 'a' else 'BY DEFAULT'} AS IDENTITY")
    elif generated == "s":
        parts.append(f"GENERATED ALWAYS AS ({default}) STORED")
    elif default is not None:
        parts.append(f"DEFAULT {default}")
    if not_null:
        parts.append("NOT NULL")
    return " ".join(parts)


def _relations(query: Query, schema: str, name: str) -> list[str]:
    """Tables, and views as stand-ins, with the comments on them and their columns."""
    relations = query(
        "SELECT c.oid, quote_ident(c.relname), c.relkind, c.relreplident, "
        "quote_literal(obj_description(c.oid, 'pg_class')) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm') ORDER BY c.relname",
        (schema,),
    )
    columns: dict[Any, list[tuple[Any, ...]]] = {}
    for row in query(
        "SELECT a.attrelid, quote_ident(a.attname), format_type(a.atttypid, a.atttypmod), "
        "a.attnotnull, a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid), "
        "CASE WHEN a.attcollation <> t.typcollation THEN quote_ident(cn.nspname) || '.' || "
        "quote_ident(co.collname) END, quote_literal(col_description(a.attrelid, a.attnum)) "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "LEFT JOIN pg_collation co ON co.oid = a.attcollation "
        "LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm') AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum",
        (schema,),
    ):
        columns.setdefault(row[0], []).append(row)
    statements, comments = [], []
    for oid, relation, kind, replica, comment in relations:
        full = f"{name}.{relation}"
        own = columns.get(oid, [])
        if kind in ("r", "p"):
            body = ",\n  ".join(_column_sql(row) for row in own)
            statements.append(f"CREATE TABLE {full} (\n  {body}\n)")
            if replica in ("f", "n"):
                comments.append(
                    f"ALTER TABLE {full} REPLICA IDENTITY {'FULL' if replica == 'f' else 'NOTHING'}"
                )
        else:
            selected = ", ".join(f"NULL::{row[2]} AS {row[1]}" for row in own)
            view = "MATERIALIZED VIEW" if kind == "m" else "VIEW"
            suffix = " WITH NO DATA" if kind == "m" else ""
            statements.append(f"CREATE {view} {full} AS SELECT {selected}{suffix}")
        target = "MATERIALIZED VIEW" if kind == "m" else "VIEW" if kind == "v" else "TABLE"
        if comment is not None:
            comments.append(f"COMMENT ON {target} {full} IS {comment}")
        comments += [
            f"COMMENT ON COLUMN {full}.{row[1]} IS {row[8]}" for row in own if row[8] is not None
        ]
    return statements + comments


def _constraints(query: Query, schema: str, name: str) -> list[str]:
    return [
        f"ALTER TABLE {name}.{table} ADD CONSTRAINT {constraint} {definition}"
        for table, constraint, definition in query(
            "SELECT quote_ident(c.relname), quote_ident(k.conname), pg_get_constraintdef(k.oid) "
            "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') "
            "AND k.contype IN ('p', 'u', 'c', 'x', 'f') "
            "ORDER BY c.relname, position(k.contype IN 'pucxf'), k.conname",
            (schema,),
        )
    ]
