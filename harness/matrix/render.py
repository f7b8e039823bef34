"""The matrix as Markdown (for docs and ``$GITHUB_STEP_SUMMARY``), HTML and JSON.

The Markdown and HTML say what a lab wants to read first (the table, then what
breaks and where, then exactly what produced it); the JSON keeps every cell
with its provenance, the environments' package lists stored once each.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness import __version__
from harness.matrix.table import MatrixTable, cell_text, failures

FORMAT = 1


def _short(image_id: str | None) -> str:
    return (image_id or "").removeprefix("sha256:")[:12] or "-"


def _where(failure: Mapping[str, Any]) -> str:
    parts = [failure.get("module"), failure.get("table")]
    known = [part for part in parts if part]
    return f" ({', '.join(known)})" if known else ""


def _escape_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def verdict(table: MatrixTable) -> str:
    """One sentence above the table, so a run where everything failed says so at once."""
    cells = [cell for row in table.rows for cell in row.cells if cell is not None]
    passed = sum(cell["status"] == "passed" for cell in cells)
    failed = sum(cell["status"] == "failed" for cell in cells)
    unrun = len(cells) - passed - failed
    if not cells:
        return "⚠️ No check ran."
    if passed == len(cells):
        return f"✅ All {len(cells)} checks passed."
    counts = ", ".join(
        text for n, text in ((failed, f"{failed} failed"), (unrun, f"{unrun} could not run")) if n
    )
    if not passed:
        return f"❌ Every check failed ({counts})."
    return f"❌ {passed} of {len(cells)} checks passed ({counts})."


def markdown(table: MatrixTable, command: str | None = None) -> str:
    """The verdict, the table, the failures by Element, and the environments it was made in."""
    header = ["Element", *(column.label for column in table.columns)]
    lines = [
        verdict(table),
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for row in table.rows:
        cells = [_escape_cell(cell_text(cell)) for cell in row.cells]
        lines.append("| " + " | ".join([row.label, *cells]) + " |")
    broken = failures(table)
    if broken:
        lines += ["", "### What breaks, and where", ""]
        for element, labels, failure in broken:
            message = _escape_cell(str(failure.get("message") or failure.get("class")))
            lines.append(
                f"- **{element}** ({'; '.join(labels)}): `{failure.get('class')}`: "
                f"{message}{_where(failure)}"
            )
    lines += ["", "### Made with", ""]
    lines += ["| combination | Python | server | image |", "|---|---|---|---|"]
    for column in table.columns:
        server = column.server
        lines.append(
            f"| {column.label} | {column.python or '-'} | {server.get('version') or '-'} | "
            f"{server.get('image') or '-'} ({_short(server.get('image_id'))}) |"
        )
    if command:
        lines += ["", f"Command: `{command}` (element-harness {__version__})"]
    return "\n".join(lines) + "\n"


def html_page(table: MatrixTable, command: str | None = None) -> str:
    """A self-contained page: one table, failures listed below it."""
    esc = html.escape
    head = "".join(f"<th>{esc(c.label)}</th>" for c in table.columns)
    body = []
    for row in table.rows:
        tds = []
        for cell in row.cells:
            status = "none" if cell is None else cell["status"]
            title = "" if cell is None or not cell.get("failure") else cell["failure"]["message"]
            tds.append(
                f'<td class="{status}" title="{esc(title or "")}">{esc(cell_text(cell))}</td>'
            )
        body.append(f"<tr><th>{esc(row.label)}</th>{''.join(tds)}</tr>")
    items = "".join(
        f"<li><b>{esc(element)}</b> ({esc('; '.join(labels))}): <code>"
        f"{esc(str(failure.get('class')))}</code> {esc(str(failure.get('message') or ''))}"
        f"{esc(_where(failure))}</li>"
        for element, labels, failure in failures(table)
    )
    footer = f"<p>Command: <code>{esc(command)}</code></p>" if command else ""
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Element compatibility</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
        "td.passed{background:#e6ffed}td.failed{background:#ffeef0}"
        "td.error{background:#fff5b1}</style></head><body>"
        f"<h1>Element compatibility</h1><p>{esc(verdict(table))}</p>"
        f"<table><tr><th>Element</th>{head}</tr>"
        f"{''.join(body)}</table><ul>{items}</ul>{footer}"
        f"<p>element-harness {esc(__version__)}</p></body></html>\n"
    )


def json_document(
    cells: Sequence[Mapping[str, Any]],
    table: MatrixTable,
    environments: Mapping[str, Mapping[str, Any]],
    command: str | None = None,
) -> dict[str, Any]:
    """Every cell with its provenance; each package list once, cells point to it by digest."""
    freezes: dict[str, list[str]] = {}
    slim = []
    for cell in cells:
        provenance = dict(cell.get("provenance") or {})
        freeze = provenance.pop("freeze", None)
        if freeze is not None:
            digest = hashlib.sha256("\n".join(freeze).encode()).hexdigest()
            freezes[digest] = freeze
            provenance["freeze_sha256"] = digest
        slim.append({**cell, "provenance": provenance})
    return {
        "format": FORMAT,
        "kind": "element-harness-matrix",
        "harness_version": __version__,
        "command": command,
        "combinations": [
            {"datajoint": c.combo.datajoint, "db": c.combo.db, "label": c.label}
            for c in table.columns
        ],
        "elements": [row.element for row in table.rows],
        "environments": {dj: dict(info) for dj, info in environments.items()},
        "freezes": freezes,
        "cells": slim,
    }


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    write_text(path, json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
