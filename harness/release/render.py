"""A release check's output: the Markdown section for release notes, and its JSON record.

The Markdown is what a maintainer pastes into release notes (Breaking /
Data-dependent / Additive lists, and between DataJoint lines the migration
steps and whether the old release's database carries over); the JSON keeps
everything a CI job needs to decide and to explain: both sides (what was typed,
the version, the DataJoint it was checked under, where the package was imported
from, status and failure, notes), every change with its verdict, reason and
rule, and the counts per verdict.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import __version__
from harness.errors import HarnessError
from harness.release.check import SideResult
from harness.release.classify import (
    ADDITIVE,
    BREAKING,
    DATA_DEPENDENT,
    MIGRATION,
    VERDICTS,
    Classified,
    overall,
)
from harness.release.crossversion import needs_steps

FORMAT = 2
_TITLES = {
    BREAKING: "Breaking",
    DATA_DEPENDENT: "Data-dependent",
    MIGRATION: "Migration steps",
    ADDITIVE: "Additive",
}


def title(element: str, old: str, new: str) -> str:
    return f"{element} {old} → {new}"


def _items(classified: Sequence[Classified], verdict: str) -> list[str]:
    chosen = [item for item in classified if item.verdict == verdict]
    return [f"- `{item.change.render()}`: {item.reason} [{item.rule}]" for item in chosen] or [
        "- none"
    ]


def carry_over(classified: Sequence[Classified]) -> str:
    """The answer to "can a database declared by OLD be used by NEW", in one sentence."""
    status = overall(classified)
    steps = [item.rule for item in classified if item.verdict == MIGRATION]
    if status == "compatible" or (status == MIGRATION and not needs_steps(steps)):
        optional = f" ({len(steps)} optional marker step(s) listed)" if steps else ""
        return f"a database declared by the old release carries over as it is{optional}"
    if status == MIGRATION:
        return "a database declared by the old release carries over after the migration steps"
    return f"a database declared by the old release does not simply carry over ({status} changes)"


def markdown(heading: str, classified: Sequence[Classified], *, cross: bool = False) -> str:
    """The "Schema changes" section for release notes; ``cross`` adds the migration steps."""
    lines = [f"## Schema changes: {heading}", ""]
    if cross:
        lines += [f"Verdict: {carry_over(classified)}.", ""]
    for verdict in VERDICTS:
        if verdict == MIGRATION and not cross:
            continue
        lines += [f"### {_TITLES[verdict]}", "", *_items(classified, verdict), ""]
    return "\n".join(lines)


def record(
    element: str,
    sides: Sequence[SideResult],
    classified: Sequence[Classified] | None,
    environment: dict[str, Any],
) -> dict[str, Any]:
    """The JSON record; ``classified`` is None when a side failed (nothing was compared)."""
    old, new = sides
    status = "failed" if classified is None else overall(classified)
    changes = [
        {
            "text": item.change.render(),
            "op": item.change.op,
            "kind": item.change.kind,
            "subject": item.change.subject,
            "detail": item.change.detail,
            "verdict": item.verdict,
            "reason": item.reason,
            "rule": item.rule,
        }
        for item in classified or []
    ]
    data: dict[str, Any] = {
        "format": FORMAT,
        "harness_version": __version__,
        "element": element,
        "title": title(element, old.side.label, new.side.label),
        "status": status,
        "from": old.to_dict(),
        "to": new.to_dict(),
        "changes": changes,
        "summary": {
            verdict: sum(change["verdict"] == verdict for change in changes) for verdict in VERDICTS
        },
        "environment": environment,
    }
    if old.datajoint != new.datajoint and classified is not None:
        data["carries_over"] = status in ("compatible", MIGRATION)
        data["verdict"] = carry_over(classified)
    return data


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
