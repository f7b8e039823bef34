"""The Markdown summary, for ``$GITHUB_STEP_SUMMARY`` or a pull-request comment.

GitHub renders the check table, folds the warnings in ``<details>`` and draws
each Element's ``mermaid`` block, so a maintainer sees the schema the Element
declared without leaving the pull request.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.redact import redact_text
from harness.reports import summary
from harness.reports.graph import build_graph
from harness.reports.mermaid import er_diagram
from harness.results import ElementResult

if TYPE_CHECKING:
    from harness.session import RunReport


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _fenced(text: str, language: str = "text") -> list[str]:
    return [f"```{language}", text.replace("```", "'''"), "```"]


def _table(results: list[ElementResult]) -> list[str]:
    columns = summary.check_columns(results)
    lines = [
        "| Element | version | status | " + " | ".join(f"`{name}`" for name in columns) + " |",
        "|---|---|---|" + "---|" * len(columns),
    ]
    for result in results:
        marks = " | ".join(summary.mark(result, name) for name in columns)
        lines.append(
            f"| {_cell(result.name)} | {_cell(result.version or '-')} | "
            f"{summary.status_text(result)} | {marks} |"
        )
    return lines


def _failures(results: list[ElementResult]) -> list[str]:
    failing = [result for result in results if summary.failure_lines(result)]
    if not failing:
        return []
    lines = ["", "### Failures"]
    for result in failing:
        lines += ["", f"**{result.name}**", "", *_fenced("\n".join(summary.failure_lines(result)))]
    return lines


def _warnings(results: list[ElementResult]) -> list[str]:
    count = sum(len(result.warnings) for result in results)
    if not count:
        return []
    lines = ["", f"<details><summary>Warnings ({count})</summary>", ""]
    for result in results:
        lines += [f"- **{result.name}**: {_cell(warning)}" for warning in result.warnings]
    return [*lines, "", "</details>"]


def _diagrams(results: list[ElementResult]) -> list[str]:
    lines = ["", "### Schemas"]
    for result in results:
        graph = build_graph(result)
        lines += ["", f"#### {result.name}", ""]
        for extra in (summary.mock_line(result), summary.roundtrip_line(result)):
            if extra:
                lines += [f"_{extra}_", ""]
        if not graph.entities:
            lines.append("_no tables were declared_")
            continue
        lines += _fenced(er_diagram(graph), "mermaid")
    return lines


def render_markdown(report: RunReport) -> str:
    results = list(report.results)
    lines = [f"## {summary.headline(report)}", "", summary.environment_line(report.environment)]
    lines += ["", *_table(results)]
    lines += _failures(results) + _warnings(results) + _diagrams(results)
    return redact_text("\n".join(lines)) + "\n"


def write_markdown(report: RunReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(report), encoding="utf-8")
