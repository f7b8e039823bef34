"""Cells of the matrix from ``harness check --json`` reports.

A cell is one Element in one combination: its status, table count or failure
class, a digest of its manifest (two runs with equal inputs must give equal
digests) and its provenance. Both the local matrix and the aggregation of a
CI fan-out read reports through here, so the two tables are built alike.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.errors import ConfigurationError
from harness.manifest import dumps, manifests_in

#: Failure class of a cell whose check never produced a result (environment, crash).
HARNESS_ERROR = "harness_error"


def read_report(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"{path} is not a readable JSON report: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("elements"), list):
        raise ConfigurationError(f"{path} is not a `harness check --json` report")
    return data


def server_of(report: Mapping[str, Any]) -> dict[str, Any]:
    server = report.get("environment", {}).get("server") or {}
    image = server.get("image") or {}
    return {
        "backend": server.get("backend"),
        "version": server.get("version"),
        "image": image.get("name"),
        "image_id": image.get("id"),
    }


def _failure(element: Mapping[str, Any]) -> dict[str, Any] | None:
    failure = element.get("failure")
    if not failure:
        return None
    return {key: failure.get(key) for key in ("class", "message", "module", "table")}


def cells_from_report(
    path: Path,
    datajoint: str | None = None,
    db: str | None = None,
    elements: Mapping[str, Mapping[str, Any]] | None = None,
    freeze: list[str] | None = None,
) -> list[dict[str, Any]]:
    """One cell per Element of the report at ``path``.

    ``elements`` (target -> what the probe found) adds commits and spec digests;
    ``freeze`` the environment's package list. Without them (a CI artifact) the
    report's own environment section is all the provenance there is.
    """
    report = read_report(path)
    environment = report.get("environment", {})
    manifests = manifests_in(path)
    server = server_of(report)
    cells = []
    for element in report["elements"]:
        probed = (elements or {}).get(element.get("target", ""), {})
        manifest = manifests.get(element["name"])
        cells.append(
            {
                "element": element["name"],
                "target": element.get("target"),
                "datajoint": datajoint or environment.get("datajoint"),
                "db": db or server["backend"],
                "status": element["status"],
                "tables": len(element.get("tables", [])),
                "failure": _failure(element),
                "manifest_sha256": hashlib.sha256(dumps(manifest).encode()).hexdigest()
                if manifest is not None and element["status"] == "passed"
                else None,
                "provenance": {
                    "harness_version": report.get("harness_version"),
                    "python": environment.get("python"),
                    "datajoint": environment.get("datajoint"),
                    "element_version": element.get("version"),
                    "element_commit": probed.get("commit"),
                    "element_dirty": probed.get("dirty", False),
                    "server": server,
                    "freeze": list(freeze) if freeze is not None else None,
                },
            }
        )
    return cells


def error_cell(target: str, name: str, datajoint: str, db: str, message: str) -> dict[str, Any]:
    """A cell for an Element whose check did not run to a result."""
    return {
        "element": name,
        "target": target,
        "datajoint": datajoint,
        "db": db,
        "status": "error",
        "tables": 0,
        "failure": {"class": HARNESS_ERROR, "message": message, "module": None, "table": None},
        "manifest_sha256": None,
        "provenance": {},
    }
