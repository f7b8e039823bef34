"""The schema diagram as inline SVG, for the HTML report.

The HTML report must work offline, so Mermaid (a script from a CDN) is not an
option. A simple layered layout is enough for the size of an Element: a
table's layer is the length of the longest foreign-key path above it, so every
parent is drawn above its children; within a layer tables are ordered by
their parents' positions to keep lines short, and a layer wider than the page
wraps onto another row.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from harness.reports.graph import Column, Entity, SchemaGraph

CHAR_W, ROW_H, HEADER_H, PAD, GAP_X, GAP_Y, MAX_WIDTH = 7.2, 16, 22, 8, 28, 48, 1100
#: Header colours by tier (DataJoint's own: manual green, lookup grey, imported blue,
#: computed red); tests look for these exact colours in a screenshot.
TIER_COLORS = {
    "manual": "#2e8b57",
    "lookup": "#6e7781",
    "imported": "#0969da",
    "computed": "#cf222e",
    "part": "#8250df",
    "mock": "#afb8c1",
    "external": "#afb8c1",
}
#: Marker attribute on every diagram, so a page (or a test) can find them.
MARKER = "data-harness-diagram"


@dataclass
class Box:
    entity: Entity
    x: float = 0.0
    y: float = 0.0

    @property
    def width(self) -> float:
        texts = [self.entity.label, *(_column_text(c) for c in self.entity.columns)]
        return max(len(text) + 2 for text in texts) * CHAR_W * 1.08 + 2 * PAD

    @property
    def height(self) -> float:
        return HEADER_H + ROW_H * len(self.entity.columns) + PAD


def _keys(column: Column) -> str:
    return " ".join(key for key, on in (("PK", column.primary), ("FK", column.foreign)) if on)


def _column_text(column: Column) -> str:
    """The text of a column row, key marks included (what the box width must hold)."""
    return f"{column.name}: {column.type} {_keys(column)}".rstrip()


def _layers(graph: SchemaGraph) -> dict[str, int]:
    """Longest foreign-key path from a root to each entity (cycles cut, never looped)."""
    depth: dict[str, int] = {}

    def visit(key: str, trail: frozenset[str]) -> int:
        if key not in depth:
            parents = [p for p in graph.parents(key) if p in graph.entities and p not in trail]
            depth[key] = 1 + max((visit(p, trail | {key}) for p in parents), default=-1)
        return depth[key]

    for key in graph.entities:
        visit(key, frozenset())
    return depth


def layout(graph: SchemaGraph) -> dict[str, Box]:
    """Place every entity; parents above children, layers wrapped at MAX_WIDTH."""
    depth = _layers(graph)
    boxes: dict[str, Box] = {}
    y = float(PAD)
    for level in range(max(depth.values(), default=-1) + 1):
        keys = [key for key in graph.entities if depth[key] == level]

        def centre(key: str) -> float:
            placed = [boxes[p] for p in graph.parents(key) if p in boxes]
            return sum(b.x + b.width / 2 for b in placed) / len(placed) if placed else 0.0

        keys.sort(key=lambda key: (centre(key), key))
        x, row_height = float(PAD), 0.0
        for key in keys:
            box = Box(graph.entities[key])
            if x > PAD and x + box.width > MAX_WIDTH:
                x, y = float(PAD), y + row_height + GAP_Y
                row_height = 0.0
            box.x, box.y = x, y
            boxes[key] = box
            x += box.width + GAP_X
            row_height = max(row_height, box.height)
        y += row_height + GAP_Y
    return boxes


def _box_svg(box: Box) -> list[str]:
    entity = box.entity
    colour = TIER_COLORS.get(entity.tier, TIER_COLORS["manual"])
    dash = ' stroke-dasharray="5 3"' if entity.mock else ""
    out = [
        f'<g class="table {escape(entity.tier)}"><title>{escape(entity.key)}</title>',
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
        f'height="{box.height:.1f}" rx="4" fill="#ffffff" stroke="#57606a"{dash}/>',
        f'<rect x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" height="{HEADER_H}" '
        f'rx="4" fill="{colour}"/>',
        f'<text x="{box.x + PAD:.1f}" y="{box.y + 15:.1f}" class="head">'
        f"{escape(entity.label)}</text>",
    ]
    for row, column in enumerate(entity.columns):
        y = box.y + HEADER_H + ROW_H * (row + 1) - 3
        weight = ' font-weight="bold"' if column.primary else ""
        out.append(
            f'<text x="{box.x + PAD:.1f}" y="{y:.1f}"{weight}>'
            f"{escape(column.name)}: {escape(column.type)}"
            f'<tspan fill="#8c959f"> {_keys(column)}</tspan></text>'
        )
    out.append("</g>")
    return out


def _edge_svg(parent: Box, child: Box, nullable: bool) -> str:
    x1, y1 = parent.x + parent.width / 2, parent.y + parent.height
    x2, y2 = child.x + child.width / 2, child.y
    middle = (y1 + y2) / 2
    dash = ' stroke-dasharray="4 3"' if nullable else ""
    return (
        f'<path d="M{x1:.1f},{y1:.1f} C{x1:.1f},{middle:.1f} {x2:.1f},{middle:.1f} '
        f'{x2:.1f},{y2:.1f}" fill="none" stroke="#57606a" stroke-width="1.2"'
        f'{dash} marker-end="url(#arrow)"/>'
    )


def render_svg(graph: SchemaGraph, name: str) -> str:
    """One ``<svg>`` element (no XML prolog), sized to its content."""
    boxes = layout(graph)
    width = max((b.x + b.width for b in boxes.values()), default=0.0) + PAD
    height = max((b.y + b.height for b in boxes.values()), default=0.0) + PAD
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" {MARKER}="{escape(name)}" '
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'font-family="ui-monospace, monospace" font-size="12" role="img">',
        '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#57606a"/></marker>'
        "</defs>",
        "<style>.head{fill:#ffffff;font-weight:bold}</style>",
    ]
    parts += [
        _edge_svg(boxes[edge.parent], boxes[edge.child], edge.nullable)
        for edge in graph.edges
        if edge.parent in boxes and edge.child in boxes
    ]
    for box in boxes.values():
        parts += _box_svg(box)
    parts.append("</svg>")
    return "\n".join(parts)
