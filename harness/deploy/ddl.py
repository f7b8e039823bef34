"""The SQL DataJoint would run to create a table, computed without touching the server.

``datajoint.declare.declare`` turns a definition into ``CREATE TABLE`` without
executing anything; it only needs every table a definition references
(``-> Subject``) to answer for its heading. On a plan, those parents may not
exist yet (they are created by the same deploy), so each one is replaced by a
*stand-in*: a bare DataJoint query expression whose heading is built from the
expected (or live) catalog entry of the parent. DataJoint's own parser and SQL
generation then do the rest, in 0.14 and 2.x alike.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable, Mapping
from typing import Any

from harness.activation import compat
from harness.db.backends.base import Backend
from harness.db.catalog import Table

_TIER_MARKS = {"manual": "", "lookup": "#", "imported": "_", "computed": "__"}


def table_sql_name(table: Table, master_tier: str | None = None) -> str:
    """The server-side name DataJoint gives a class of this tier (``#lab``, ``_scan``).

    A part's name starts with its master's (``#lab__organization``), so the caller
    passes the master's tier for parts.
    """
    from datajoint.utils import from_camel_case

    if table.master is not None:
        master, part = table.name.split(".", 1)
        mark = _TIER_MARKS.get(master_tier or "manual", "")
        return f"{mark}{from_camel_case(master)}__{from_camel_case(part)}"
    return f"{_TIER_MARKS.get(table.tier, '')}{from_camel_case(table.name)}"


def sql_names(tables: list[Table]) -> dict[tuple[str, str], str]:
    """``(schema, class name)`` -> server-side table name, for a list holding the masters."""
    tiers = {(t.schema, t.name): t.tier for t in tables}
    return {
        (t.schema, t.name): table_sql_name(t, tiers.get((t.schema, t.master or ""))) for t in tables
    }


def quoted_name(backend: Backend, table: Table, sql_name: str) -> str:
    """``schema.table`` quoted as DataJoint's ``full_table_name`` is on this server."""
    return f"{backend.quote_identifier(table.schema)}.{backend.quote_identifier(sql_name)}"


def standin(backend: Backend, table: Table, sql_name: str) -> Any:
    """A query expression that answers for ``table`` in a foreign-key declaration."""
    compat.datajoint()
    from datajoint.expression import QueryExpression
    from datajoint.heading import Heading, default_attribute_properties

    class StandIn(QueryExpression):
        @property
        def connection(self) -> Any:  # no server behind a stand-in
            return None

    specs = [
        dict(
            default_attribute_properties,
            name=a.name,
            type=a.type,
            in_key=a.name in table.primary_key,
            nullable=a.nullable,
            default=a.default,
            comment=a.comment,
            uuid=a.core_type == "uuid",
            attribute_expression=None,
        )
        for a in table.attributes
    ]
    expression = StandIn()
    expression._heading = Heading(attribute_specs=specs)
    expression._support = [quoted_name(backend, table, sql_name)]
    return expression


def standin_context(
    context: Mapping[str, Any], lookup: Callable[[Any], Any | None]
) -> dict[str, Any]:
    """``context`` with every table class (and module of tables) replaced by its stand-in.

    ``lookup(cls)`` gives the stand-in of a class, or None to keep the value.
    """
    result: dict[str, Any] = {}
    for name, value in context.items():
        if inspect.isclass(value):
            replacement = lookup(value)
            result[name] = value if replacement is None else replacement
        elif isinstance(value, types.ModuleType):
            members = {
                attr: lookup(member)
                for attr, member in vars(value).items()
                if inspect.isclass(member) and lookup(member) is not None
            }
            if members:
                namespace = types.SimpleNamespace(**{**vars(value), **members})
                result[name] = namespace
            else:
                result[name] = value
        else:
            result[name] = value
    return result


def declare_sql(
    backend: Backend, full_table_name: str, schema: str, definition: str, context: dict[str, Any]
) -> list[str]:
    """The statements DataJoint would run to declare the table (0.14: one; 2.x: maybe more).

    DataJoint 2 generates SQL through the adapter of the target's kind of server
    (PostgreSQL: its types, ``COMMENT ON`` statements after the ``CREATE TABLE``).
    """
    compat.datajoint()
    from datajoint import declare as declare_module

    if compat.major_version() >= 2:
        from datajoint.adapters import get_adapter

        sql, _stores, _key, _lineage, pre, post = declare_module.declare(
            full_table_name, definition, context, get_adapter(backend.datajoint_backend)
        )
        statements = [*pre, sql, *post]
    else:
        sql, _stores = declare_module.declare(full_table_name, definition, context)
        statements = [sql]
    return [statement.replace("{database}", schema) for statement in statements]
