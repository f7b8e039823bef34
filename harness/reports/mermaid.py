"""A Mermaid ``erDiagram`` of one Element, as GitHub renders it in Markdown.

Mermaid's ER grammar is narrow: entity names are word characters and hyphens,
attribute types must start with a letter and may hold only word characters,
hyphens, parentheses and brackets. DataJoint names (``lab.Lab.Room``) and
server types (``decimal(5,2)``, ``enum('a','b')``) are therefore rewritten
here, once, so that every diagram parses.
"""

from __future__ import annotations

import re

from harness.reports.graph import Entity, SchemaGraph

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_]")
_UNSAFE_TYPE = re.compile(r"[^A-Za-z0-9_()\[\]-]+")


def entity_name(entity: Entity) -> str:
    """``lab.Lab.Room`` -> ``lab__Lab__Room``; mocks get a ``_mock`` suffix."""
    stem = entity.key.split(".", 1)[1] if entity.mock else entity.key
    name = _UNSAFE_NAME.sub("_", stem.replace(".", "__"))
    return f"{name}_mock" if entity.mock else name


def safe_type(text: str) -> str:
    cleaned = _UNSAFE_TYPE.sub("_", text.strip()).strip("_") or "unknown"
    return cleaned if cleaned[0].isalpha() else f"t_{cleaned}"


def safe_attribute(text: str) -> str:
    cleaned = _UNSAFE_NAME.sub("_", text) or "attribute"
    return cleaned if not cleaned[0].isdigit() else f"a_{cleaned}"


def _column_line(name: str, type_: str, primary: bool, foreign: bool) -> str:
    keys = ", ".join(key for key, on in (("PK", primary), ("FK", foreign)) if on)
    return f"        {safe_type(type_)} {safe_attribute(name)}" + (f" {keys}" if keys else "")


def er_diagram(graph: SchemaGraph) -> str:
    """The ``erDiagram`` text (without the Markdown fence)."""
    names = {key: entity_name(entity) for key, entity in graph.entities.items()}
    lines = ["erDiagram"]
    for key, entity in graph.entities.items():
        lines.append(f"    {names[key]} {{")
        lines.extend(
            _column_line(column.name, column.type, column.primary, column.foreign)
            for column in entity.columns
        )
        lines.append("    }")
    for edge in graph.edges:
        lines.append(f'    {names[edge.parent]} ||--o{{ {names[edge.child]} : ""')
    return "\n".join(lines)
