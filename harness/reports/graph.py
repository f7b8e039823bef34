"""The tables of one Element as a graph: what both diagram renderers draw.

Mermaid and the inline SVG must show the same picture, so the entities (the
Element's tables and the mock tables standing in for its upstream) and the
foreign-key edges are computed once here. Mock tables live in the namespace's
``mock`` schema; the catalog names them ``mock.<Class>`` as foreign-key parents
but does not list them as tables, so their attributes are read back from the
definition the mock was declared with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.results import ElementResult

MOCK_SCHEMA = "mock"
_DEFINITION_LINE = re.compile(
    r"^\s*(?P<name>[a-z_]\w*)\s*(?:=[^:]*)?:\s*(?P<type>[^#]+?)\s*(#.*)?$"
)


@dataclass(frozen=True)
class Column:
    """One attribute as a diagram shows it."""

    name: str
    type: str
    primary: bool = False
    foreign: bool = False


@dataclass
class Entity:
    """A box of the diagram: an Element table, or a mock of an upstream table."""

    key: str  # "schema.Class" (or "mock.Class"), as foreign keys name parents
    label: str  # what a reader sees: "lab.Lab.Room", "Subject (mock)"
    tier: str
    mock: bool = False
    columns: list[Column] = field(default_factory=list)


@dataclass(frozen=True)
class Edge:
    """A foreign key from ``child`` to ``parent`` (entity keys)."""

    parent: str
    child: str
    nullable: bool = False


@dataclass
class SchemaGraph:
    entities: dict[str, Entity]
    edges: list[Edge]

    def parents(self, key: str) -> list[str]:
        return [edge.parent for edge in self.edges if edge.child == key]


def _mock_columns(definition: str, referenced: set[str]) -> list[Column]:
    """Columns of a mock's definition (``name: type`` lines, primary key above ``---``)."""
    columns: list[Column] = []
    primary = True
    for line in definition.splitlines():
        stripped = line.strip()
        if stripped.startswith("---") or stripped.startswith("___"):
            primary = False
            continue
        match = _DEFINITION_LINE.match(stripped)
        if match and not stripped.startswith("#"):
            columns.append(Column(match["name"], match["type"], primary=primary))
    known = {column.name for column in columns}
    columns += [Column(name, "?", primary=True) for name in sorted(referenced - known)]
    return columns


def _mock_definition(result: ElementResult, class_name: str) -> str:
    """The definition of the mock for ``mock.<class_name>`` (mocks are keyed by upstream name)."""
    for upstream, definition in result.mocked_tables.items():
        if upstream.rsplit(".", 1)[-1] == class_name:
            return definition
    return ""


def build_graph(result: ElementResult) -> SchemaGraph:
    """Entities and edges of one Element's catalog, mocks included."""
    entities: dict[str, Entity] = {}
    edges: list[Edge] = []
    referenced: dict[str, set[str]] = {}
    for table in sorted(result.tables, key=lambda t: (t.schema, t.name)):
        foreign = {name for fk in table.foreign_keys for name in fk.attributes}
        entities[table.full_name] = Entity(
            key=table.full_name,
            label=table.full_name,
            tier=table.tier,
            columns=[
                Column(a.name, a.type, a.name in table.primary_key, a.name in foreign)
                for a in table.attributes
            ],
        )
        for fk in table.foreign_keys:
            if not any(e.parent == fk.parent and e.child == table.full_name for e in edges):
                edges.append(Edge(fk.parent, table.full_name, fk.nullable))
            referenced.setdefault(fk.parent, set()).update(fk.attributes.values())
    for parent in sorted(referenced):
        if parent in entities:
            continue
        schema, _, class_name = parent.partition(".")
        mock = schema == MOCK_SCHEMA
        definition = _mock_definition(result, class_name) if mock else ""
        entities[parent] = Entity(
            key=parent,
            label=f"{class_name} (mock)" if mock else parent,
            tier="mock" if mock else "external",
            mock=mock,
            columns=_mock_columns(definition, referenced[parent]),
        )
    return SchemaGraph(entities, edges)
