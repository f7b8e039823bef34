"""Catalog phase: what DataJoint itself believes it declared, read while the modules are live.

The catalog read from the server (:meth:`~harness.db.backends.base.Backend.read_catalog`)
is cross-checked against it by the verify phase.
"""

from __future__ import annotations

from typing import Any

from harness.activation import compat
from harness.activation.discovery import LoadedModule
from harness.activation.phases.base import CheckContext

#: Table (``stem.Class``) -> (primary key or None, loaded attribute names or None, parents).
DataJointView = dict[str, tuple[list[str] | None, set[str] | None, set[str]]]


def _unquoted(name: str) -> str:
    """`schema`.`table` (MySQL) or "schema"."table" (PostgreSQL) -> schema.table."""
    return name.replace("`", "").replace('"', "")


def _parent_names(dependencies: Any, full_table_name: str) -> list[str]:
    """Parents in DataJoint's graph (a dict in 0.14, a list of pairs in 2.x).

    A renamed reference (``.proj(new="old")``) goes through an alias node named by a
    number; its parent is the real table.
    """
    parents = dependencies.parents(full_table_name)
    names = (
        list(parents)
        if isinstance(parents, dict)
        else [parent[0] if isinstance(parent, tuple) else parent for parent in parents]
    )
    resolved: list[str] = []
    for name in names:
        if str(name).isdigit():
            resolved += _parent_names(dependencies, name)
        else:
            resolved.append(str(name))
    return resolved


def datajoint_view(context: CheckContext, all_loaded: list[LoadedModule]) -> DataJointView:
    """Keys, attributes and parents of each declared table, as DataJoint sees them.

    One load of DataJoint's dependency graph gives every table's primary key and
    parents; attribute names come from headings DataJoint has already loaded
    (loading the others would cost queries per table for information the graph and
    the catalog already hold). A failure is a warning: this is a cross-check.
    """
    prefix = context.prefix
    view: DataJointView = {}
    try:
        dependencies = compat.datajoint().conn().dependencies
        dependencies.load()
        for loaded in all_loaded:
            for queued in loaded.tables:
                database = getattr(queued.cls, "database", None)
                if not database or not database.startswith(prefix + "_"):
                    continue
                full_name = queued.cls.full_table_name
                node = dependencies.nodes.get(full_name, {}) if full_name in dependencies else {}
                primary_key = node.get("primary_key")
                heading = getattr(queued.cls, "_heading", None)
                loaded_names = (
                    {n for n in heading.names if not n.startswith("_")}
                    if heading is not None and getattr(heading, "_attributes", None)
                    else None
                )
                parents = {
                    context.stem(_unquoted(parent).split(".", 1)[0])
                    for parent in _parent_names(dependencies, full_name)
                }
                view[f"{context.stem(database)}.{queued.name}"] = (
                    sorted(primary_key) if primary_key is not None else None,
                    loaded_names,
                    parents,
                )
    except Exception as exc:  # DataJoint's own view is a cross-check, not the source
        context.result.warnings.append(
            f"could not read DataJoint's view of the tables: {type(exc).__name__}: {exc}"
        )
    return view
