"""Report formats built from :class:`harness.session.RunReport`.

``json_report`` (the documented machine format), ``junit`` (CI test
reporters), ``markdown`` (job summaries and PR comments, Mermaid diagrams) and
``html`` (a self-contained page with inline SVG diagrams).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.session import RunReport

#: File names used when every format is written into one directory (``--harness-report``).
REPORT_FILES = {
    "json": "report.json",
    "junit": "junit.xml",
    "markdown": "report.md",
    "html": "report.html",
}


def write_reports(report: RunReport, directory: Path) -> list[Path]:
    """Write every format into ``directory``; return the paths written."""
    from harness.reports.html import write_html
    from harness.reports.json_report import write_json
    from harness.reports.junit import write_junit
    from harness.reports.markdown import write_markdown

    writers = {
        "json": write_json,
        "junit": write_junit,
        "markdown": write_markdown,
        "html": write_html,
    }
    paths = []
    for kind, writer in writers.items():
        path = directory / REPORT_FILES[kind]
        writer(report, path)
        paths.append(path)
    return paths
