"""The port report: plain lines for a terminal, one JSON document for tools.

The JSON format is documented in docs/report-format.md (``harness port --json``);
``PORT_FORMAT`` changes when a field changes meaning.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.port.findings import Finding
from harness.port.rules import RULES
from harness.redact import redact_text

PORT_FORMAT = 1


@dataclass
class PortReport:
    """Everything one ``harness port`` run learned about one Element."""

    target: str
    name: str
    package_dir: Path
    datajoint: str
    files: list[str]
    findings: list[Finding]
    unreadable: list[str] = field(default_factory=list)
    written: bool = False
    changed: list[str] = field(default_factory=list)
    fixed: int = 0
    check: dict[str, Any] | None = None  # ElementResult.to_dict() of the 2.x check
    check_note: str = ""  # why the check did not run, when it did not

    @property
    def check_failed(self) -> bool:
        return self.check is not None and self.check.get("status") != "passed"

    @property
    def clean(self) -> bool:
        return not self.findings and not self.unreadable and not self.check_failed

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PORT_FORMAT,
            "target": self.target,
            "element": self.name,
            "source": str(self.package_dir),
            "datajoint": self.datajoint,
            "files_scanned": self.files,
            "written": self.written,
            "changed_files": self.changed,
            "fixed": self.fixed,
            "findings": [finding.to_json() for finding in self.findings],
            "unreadable": self.unreadable,
            "summary": summary(self.findings),
            "check": self.check,
            "check_note": self.check_note,
            "clean": self.clean,
        }


def summary(findings: list[Finding]) -> dict[str, Any]:
    by_rule: dict[str, int] = {}
    for finding in findings:
        by_rule[finding.rule_id] = by_rule.get(finding.rule_id, 0) + 1
    return {
        "total": len(findings),
        "mechanical": sum(finding.mechanical for finding in findings),
        "manual": sum(not finding.mechanical for finding in findings),
        "by_rule": dict(sorted(by_rule.items())),
    }


def finding_lines(finding: Finding) -> list[str]:
    """``file:line: [rule] code`` then what 2.x does and what replaces it."""
    rule = RULES[finding.rule_id]
    where = f"{finding.location()}:{finding.column}"
    table = f" ({finding.table})" if finding.table else ""
    how = "fix" if finding.mechanical else "manual"
    return [
        f"{where}: [{finding.rule_id}, {rule.severity}]{table} {finding.code}",
        f"    on 2.x: {rule.on_2x}",
        f"    {how}: {finding.replacement}",
    ]


def render_text(report: PortReport) -> str:
    lines = [f"{report.name}: {len(report.files)} module(s) in {report.package_dir}"]
    if report.written:
        lines.append(
            f"wrote {report.fixed} replacement(s) in {len(report.changed)} file(s)"
            if report.changed
            else "nothing to rewrite: no mechanical replacement is left"
        )
    for entry in report.unreadable:
        lines.append(f"{entry} (not analysed)")
    heading = "remaining (manual)" if report.written else "findings"
    if report.findings:
        counts = summary(report.findings)
        lines.append(
            f"{heading}: {counts['total']} ({counts['mechanical']} mechanical, "
            f"{counts['manual']} manual)"
        )
        for finding in report.findings:
            lines.extend(finding_lines(finding))
    else:
        lines.append("no DataJoint 2 incompatibility in the source")
    lines.append(check_line(report))
    return "\n".join(lines)


def check_line(report: PortReport) -> str:
    if report.check is None:
        return f"check under DataJoint 2: not run ({report.check_note})"
    status = report.check.get("status")
    failure = report.check.get("failure") or {}
    if status == "passed":
        return f"check under DataJoint {report.datajoint}: passed"
    detail = failure.get("message") or next(
        (c.get("detail") for c in report.check.get("checks", []) if c.get("status") == "failed"),
        "",
    )
    klass = failure.get("class", status)
    return f"check under DataJoint {report.datajoint}: {klass}: {detail}"


def write_json(report: PortReport, path: Path) -> None:
    text = json.dumps(report.to_json(), indent=2, default=str)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(redact_text(text) + "\n", encoding="utf-8")
    except OSError as exc:
        raise HarnessError(
            f"cannot write the report to {path}: {exc.strerror or exc}",
            hint="choose a path in a writable directory",
        ) from None
