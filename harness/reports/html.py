"""One self-contained HTML page: the Markdown summary's content, diagrams drawn inline.

No script, font or stylesheet is fetched: the page is an artifact a CI job
uploads and a reviewer opens anywhere, offline included.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from harness.redact import redact_text
from harness.reports import summary
from harness.reports.graph import build_graph
from harness.reports.svg import render_svg
from harness.results import ElementResult, Status

if TYPE_CHECKING:
    from harness.session import RunReport

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#1f2328}
table.checks{border-collapse:collapse;margin:12px 0}
table.checks th,table.checks td{border:1px solid #d0d7de;padding:4px 8px;text-align:center}
table.checks td:first-child{text-align:left}
pre{background:#f6f8fa;padding:8px;overflow-x:auto;white-space:pre-wrap}
.pass{color:#1a7f37}.fail{color:#cf222e;font-weight:bold}.skip{color:#8c959f}
.env{color:#57606a}.note{color:#57606a;font-style:italic}
.diagram{overflow-x:auto;border:1px solid #d0d7de;padding:8px;margin:8px 0}
"""


#: Marks drawn from fonts every system has (colour emoji often are missing on CI machines).
_MARKS = {
    Status.PASSED: ("pass", "✓"),
    Status.FAILED: ("fail", "✗"),
    Status.SKIPPED: ("skip", "○"),
    Status.ERROR: ("fail", "✗"),
}


def _mark(status: str | None, *, word: bool = True) -> str:
    if status is None:
        return ""
    css, glyph = _MARKS.get(status, ("fail", "?"))
    text = f"{glyph} {escape(status)}" if word else glyph
    return f'<span class="{css}" title="{escape(status)}">{text}</span>'


def _header(name: str) -> str:
    """Check names break after underscores, so the table fits a page."""
    return f"<th><code>{escape(name).replace('_', '_<wbr>')}</code></th>"


def _table(results: list[ElementResult]) -> str:
    columns = summary.check_columns(results)
    head = "".join(_header(name) for name in columns)
    rows = []
    for result in results:
        marks = "".join(
            f'<td title="{escape(name)}">{_mark(_status(result, name), word=False)}</td>'
            for name in columns
        )
        rows.append(
            f"<tr><td>{escape(result.name)}</td><td>{escape(result.version or '-')}</td>"
            f"<td>{_mark(result.status)}</td>{marks}</tr>"
        )
    return (
        '<table class="checks"><tr><th>Element</th><th>version</th><th>status</th>'
        f"{head}</tr>{''.join(rows)}</table>"
    )


def _status(result: ElementResult, check: str) -> str | None:
    outcome = result.check(check)
    return None if outcome is None else outcome.status


def _failures(results: list[ElementResult]) -> str:
    parts = [
        f"<h3>{escape(result.name)}</h3><pre>{escape(chr(10).join(lines))}</pre>"
        for result in results
        if (lines := summary.failure_lines(result))
    ]
    return "<h2>Failures</h2>" + "".join(parts) if parts else ""


def _warnings(results: list[ElementResult]) -> str:
    items = [
        f"<li><b>{escape(result.name)}</b>: {escape(warning)}</li>"
        for result in results
        for warning in result.warnings
    ]
    if not items:
        return ""
    return f"<details><summary>Warnings ({len(items)})</summary><ul>{''.join(items)}</ul></details>"


def _diagrams(results: list[ElementResult]) -> str:
    parts = ["<h2>Schemas</h2>"]
    for result in results:
        parts.append(f"<h3>{escape(result.name)}</h3>")
        for extra in (summary.mock_line(result), summary.roundtrip_line(result)):
            if extra:
                parts.append(f'<p class="note">{escape(extra)}</p>')
        graph = build_graph(result)
        if graph.entities:
            parts.append(f'<div class="diagram">{render_svg(graph, result.name)}</div>')
        else:
            parts.append('<p class="note">no tables were declared</p>')
    return "".join(parts)


def render_html(report: RunReport) -> str:
    results = list(report.results)
    title = escape(summary.headline(report))
    body = (
        f"<h1>{title}</h1>"
        f'<p class="env">{escape(summary.environment_line(report.environment))}</p>'
        f"{_table(results)}{_failures(results)}{_warnings(results)}{_diagrams(results)}"
    )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="generator" content="element-harness {escape(report.harness_version)}">'
        f"<title>{title}</title><style>{_CSS}</style></head><body>{body}</body></html>\n"
    )
    return redact_text(page)


def write_html(report: RunReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
