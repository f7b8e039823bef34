"""One table from many reports: the last job of the reusable workflow.

Each fan-out job of ``element-check.yml`` uploads the JSON report of its
``harness check`` run; this module reads every report under a directory (and
matrix JSON documents too, so partial matrices can be merged) into cells.

A job that fails before ``harness check`` writes its report (the install
failed, no engine) uploads nothing. Given the planned matrix (``--expect``),
such a combination becomes a row of ``harness_error`` cells instead of
vanishing, and a run in which every job failed still gets a table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.errors import ConfigurationError
from harness.matrix.cells import cells_from_report, error_cell


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


def cells_in(directory: Path, *, required: bool = True) -> list[dict[str, Any]]:
    """Cells of every report and matrix document under ``directory`` (recursively).

    ``required=False`` (a planned matrix is known) accepts a missing directory
    or one without reports: the missing combinations are reported instead.
    """
    if not directory.is_dir():
        if not required:
            return []
        raise ConfigurationError(
            f"{directory} is not a directory",
            hint="download the fan-out jobs' artifacts into it first",
        )
    cells: list[dict[str, Any]] = []
    for path in sorted(directory.rglob("*.json")):
        kind = _kind(path)
        if kind == "report":
            cells.extend(cells_from_report(path))
        elif kind == "matrix":
            document = json.loads(path.read_text(encoding="utf-8"))
            cells.extend(document.get("cells", []))
    if not cells and required:
        raise ConfigurationError(
            f"no `harness check --json` report under {directory}",
            hint="download the fan-out jobs' artifacts into it first",
        )
    return cells


def parse_expected(text: str) -> list[dict[str, str]]:
    """The combinations of a ``harness matrix --github-matrix`` document (JSON text)."""
    try:
        data = json.loads(text)
        entries = data["include"]
        combos = [
            {key: str(entry[key]) for key in ("datajoint", "db", "python")} for entry in entries
        ]
    except (ValueError, TypeError, KeyError) as exc:
        raise ConfigurationError(
            f"--expect {text[:80]!r} is not the JSON of `harness matrix --github-matrix` ({exc})",
            hint='pass the plan\'s output, e.g. {"include": [{"datajoint": "0.14.10", '
            '"db": "mysql", "python": "3.12"}]}',
        ) from None
    if not combos:
        raise ConfigurationError("--expect names no combination")
    return combos


def _same_python(cell: Mapping[str, Any], python: str) -> bool:
    found = str((cell.get("provenance") or {}).get("python") or "")
    return not found or found == python or found.startswith(python + ".")


def missing_cells(
    cells: Sequence[Mapping[str, Any]],
    expected: Sequence[Mapping[str, str]],
    targets: Sequence[str],
) -> list[dict[str, Any]]:
    """A ``harness_error`` cell per Element for each expected combination no cell covers.

    The Elements are those the other reports name (by target as typed), plus
    each of ``targets`` no report resolved (named as typed).
    """
    names: dict[str, str] = {}
    for cell in cells:
        names.setdefault(str(cell.get("target") or cell["element"]), cell["element"])
    for target in targets:
        names.setdefault(target, target)
    several_pythons = len({combo["python"] for combo in expected}) > 1
    missing = []
    for combo in expected:
        covered = any(
            cell["datajoint"] == combo["datajoint"]
            and cell["db"] == combo["db"]
            and _same_python(cell, combo["python"])
            for cell in cells
        )
        if covered:
            continue
        message = (
            f"no report from the check job for DataJoint {combo['datajoint']} on {combo['db']} "
            f"(Python {combo['python']}): it failed before `harness check` wrote one; "
            "see that job's log"
        )
        for target, name in names.items():
            cell = error_cell(target, name, combo["datajoint"], combo["db"], message)
            if several_pythons:
                cell["provenance"] = {"python": combo["python"]}
            missing.append(cell)
    return missing
