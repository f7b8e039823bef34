"""The JSON report (format documented in docs/report-format.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.redact import redact_text

FORMAT_VERSION = 1


def report_dict(report: Any) -> dict[str, Any]:
    return {
        "format": FORMAT_VERSION,
        "harness_version": report.harness_version,
        "environment": report.environment,
        "summary": report.summary(),
        "elements": [result.to_dict() for result in report.results],
    }


def write_json(report: Any, path: Path) -> None:
    """Write the report; secrets registered this run are masked as a last line of defence."""
    text = json.dumps(report_dict(report), indent=2, sort_keys=False, default=str)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redact_text(text) + "\n", encoding="utf-8")
