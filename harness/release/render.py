"""A release check's output: the Markdown section for release notes, and its JSON record.

The Markdown is what a maintainer pastes into release notes (Breaking / Additive
lists, nothing else); the JSON keeps everything a CI job needs to decide and to
explain: both sides (what was typed, the version, where the package was
imported from, status and failure, notes), every change with its verdict and
reason, and the counts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import __version__
from harness.errors import HarnessError
from harness.release.check import SideResult
from harness.release.classify import ADDITIVE, BREAKING, Classified

FORMAT = 1


def title(element: str, old: str, new: str) -> str:
    return f"{element} {old} → {new}"


def markdown(heading: str, classified: Sequence[Classified]) -> str:
    """The "Schema changes" section for release notes."""
    lines = [f"## Schema changes: {heading}", ""]
    for verdict, name in ((BREAKING, "Breaking"), (ADDITIVE, "Additive")):
        lines += [f"### {name}", ""]
        chosen = [item for item in classified if item.verdict == verdict]
        lines += [f"- `{item.change.render()}`: {item.reason}" for item in chosen] or ["- none"]
        lines.append("")
    return "\n".join(lines)


def record(
    element: str,
    sides: Sequence[SideResult],
    classified: Sequence[Classified] | None,
    environment: dict[str, Any],
) -> dict[str, Any]:
    """The JSON record; ``classified`` is None when a side failed (nothing was compared)."""
    old, new = sides
    status = "failed"
    if classified is not None:
        breaks = any(item.verdict == BREAKING for item in classified)
        status = "breaking" if breaks else "compatible"
    changes = [
        {
            "text": item.change.render(),
            "op": item.change.op,
            "kind": item.change.kind,
            "subject": item.change.subject,
            "detail": item.change.detail,
            "verdict": item.verdict,
            "reason": item.reason,
        }
        for item in classified or []
    ]
    breaking = sum(change["verdict"] == BREAKING for change in changes)
    return {
        "format": FORMAT,
        "harness_version": __version__,
        "element": element,
        "title": title(element, old.side.label, new.side.label),
        "status": status,
        "from": old.to_dict(),
        "to": new.to_dict(),
        "changes": changes,
        "summary": {"breaking": breaking, "additive": len(changes) - breaking},
        "environment": environment,
    }


def write(path: Path, text: str) -> None:
    """Write an output file; an unwritable path is the user's to fix, said plainly."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise HarnessError(
            f"cannot write {path}: {exc.strerror or exc}",
            hint="choose a path in a writable directory",
        ) from None


def write_json(path: Path, data: dict[str, Any]) -> None:
    write(path, json.dumps(data, indent=1, ensure_ascii=False) + "\n")
