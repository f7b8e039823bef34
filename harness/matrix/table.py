"""The aggregated table: rows are Elements, columns are combinations, cells say pass or why not.

Built the same way from a local run and from a CI fan-out's reports, and
rendered by :mod:`harness.matrix.render`. Unsupported combinations (PostgreSQL
on DataJoint 0.14) are not columns at all, rather than columns of failures.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.db.backends import BACKENDS
from harness.matrix.plan import Combination, column_label

#: Columns of one DataJoint version are in the registry's order of backends.
_DB_ORDER = {name: position for position, name in enumerate(BACKENDS)}


@dataclass(frozen=True)
class Column:
    combo: Combination
    label: str
    server: Mapping[str, Any]
    python: str | None


@dataclass(frozen=True)
class Row:
    element: str
    label: str
    cells: tuple[dict[str, Any] | None, ...]


@dataclass(frozen=True)
class MatrixTable:
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]


def cell_text(cell: Mapping[str, Any] | None) -> str:
    """``✅ 24`` (tables declared), ``❌ unsupported_datajoint``, ``⚠️ harness_error``, ``-``."""
    if cell is None:
        return "-"
    if cell["status"] == "passed":
        return f"✅ {cell['tables']}"
    failure = cell.get("failure") or {}
    mark = "❌" if cell["status"] == "failed" else "⚠️"
    return f"{mark} {failure.get('class') or cell['status']}"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def _python_of(cell: Mapping[str, Any]) -> str:
    return str((cell.get("provenance") or {}).get("python") or "")


def combo_of(cell: Mapping[str, Any], by_python: bool) -> Combination:
    return Combination(cell["datajoint"], cell["db"], _python_of(cell) if by_python else "")


def several_pythons(cells: Iterable[Mapping[str, Any]]) -> bool:
    """Whether the cells come from more than one Python (columns then say which)."""
    return len({_python_of(cell) for cell in cells} - {""}) > 1


def combos_of(cells: Sequence[Mapping[str, Any]]) -> list[Combination]:
    """The combinations the cells cover, by DataJoint version, server, then Python."""
    by_python = several_pythons(cells)
    combos = {combo_of(cell, by_python) for cell in cells}
    return sorted(
        combos,
        key=lambda c: (_version_key(c.datajoint), _DB_ORDER.get(c.db, 9), c.db, c.python),
    )


def _row_label(name: str, cells: Sequence[Mapping[str, Any] | None]) -> str:
    versions = {
        (cell.get("provenance") or {}).get("element_version") for cell in cells if cell is not None
    } - {None}
    return f"{name} {' / '.join(sorted(versions))}" if versions else name


def build_table(
    cells: Sequence[Mapping[str, Any]],
    combos: Sequence[Combination] | None = None,
    elements: Sequence[str] | None = None,
) -> MatrixTable:
    """Lay out ``cells``; columns and rows default to what the cells hold, sorted."""
    combos = list(combos) if combos is not None else combos_of(cells)
    names = list(elements) if elements is not None else sorted({c["element"] for c in cells})
    by_python = any(combo.python for combo in combos)
    index = {(c["element"], combo_of(c, by_python)): dict(c) for c in cells}
    columns = []
    for combo in combos:
        mine = [c for c in cells if combo_of(c, by_python) == combo]
        provenance = next((c["provenance"] for c in mine if c.get("provenance")), {})
        server = provenance.get("server") or {}
        columns.append(
            Column(
                combo, column_label(combo, server.get("version")), server, provenance.get("python")
            )
        )
    rows = []
    for name in names:
        row = tuple(index.get((name, combo)) for combo in combos)
        rows.append(Row(name, _row_label(name, row), row))
    return MatrixTable(tuple(columns), tuple(rows))


def failures(table: MatrixTable) -> list[tuple[str, list[str], Mapping[str, Any]]]:
    """(element, column labels, failure) for each distinct failure message of each Element."""
    found: list[tuple[str, list[str], Mapping[str, Any]]] = []
    for row in table.rows:
        grouped: dict[str, tuple[list[str], Mapping[str, Any]]] = {}
        for column, cell in zip(table.columns, row.cells, strict=True):
            if cell is None or cell["status"] == "passed":
                continue
            failure = cell.get("failure") or {"class": cell["status"], "message": ""}
            text = f"{failure.get('class')}: {failure.get('message') or ''}"
            grouped.setdefault(text, ([], failure))[0].append(column.label)
        found.extend((row.element, labels, failure) for labels, failure in grouped.values())
    return found
