"""A finding (one place that breaks a rule) and the edit that fixes it, if any.

Edits are character spans of one file's text (offsets computed from the line
and column Python's ``ast`` reports), so a fix replaces exactly the characters
at fault and leaves the rest of the file as its author wrote it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.port.rules import RULES, Rule


@dataclass(frozen=True)
class Edit:
    """Replace the characters ``start:end`` of ``file``'s text by ``text``."""

    file: Path
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Finding:
    """One incompatible construct: where, what happens on 2.x, what replaces it."""

    rule_id: str
    file: str  # relative to the scanned root, with forward slashes
    line: int
    column: int
    code: str  # the construct as written (one line, shortened)
    replacement: str  # what replaces it here (specific, or the rule's advice)
    edit: Edit | None = None  # the mechanical fix, when there is one
    table: str | None = None  # the table class, for findings inside a definition

    @property
    def rule(self) -> Rule:
        return RULES[self.rule_id]

    @property
    def mechanical(self) -> bool:
        return self.edit is not None

    def location(self) -> str:
        return f"{self.file}:{self.line}"

    def to_json(self) -> dict[str, Any]:
        rule = self.rule
        return {
            "rule": rule.id,
            "severity": rule.severity,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "table": self.table,
            "code": self.code,
            "on_2x": rule.on_2x,
            "replacement": self.replacement,
            "mechanical": self.mechanical,
        }


def shorten(text: str, limit: int = 100) -> str:
    """One line of at most ``limit`` characters, for the ``code`` of a finding."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
