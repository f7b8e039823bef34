"""One table from many reports: the last job of the reusable workflow.

Each fan-out job of ``element-check.yml`` uploads the JSON report of its
``harness check`` run; this module reads every report under a directory (and
matrix JSON documents too, so partial matrices can be merged) into cells.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.errors import ConfigurationError
from harness.matrix.cells import cells_from_report


def _kind(path: Path) -> str | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("kind") == "element-harness-matrix":
        return "matrix"
    if isinstance(data.get("elements"), list) and "environment" in data:
        return "report"
    return None


def cells_in(directory: Path) -> list[dict[str, Any]]:
    """Cells of every report and matrix document under ``directory`` (recursively)."""
    if not directory.is_dir():
        raise ConfigurationError(f"{directory} is not a directory")
    cells: list[dict[str, Any]] = []
    for path in sorted(directory.rglob("*.json")):
        kind = _kind(path)
        if kind == "report":
            cells.extend(cells_from_report(path))
        elif kind == "matrix":
            document = json.loads(path.read_text(encoding="utf-8"))
            cells.extend(document.get("cells", []))
    if not cells:
        raise ConfigurationError(
            f"no `harness check --json` report under {directory}",
            hint="download the fan-out jobs' artifacts into it first",
        )
    return cells
