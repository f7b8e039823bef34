"""JUnit XML: one ``<testsuite>`` per Element, one ``<testcase>`` per check.

CI systems (GitHub test reporters, GitLab's test report) understand this
dialect; ``file`` and ``line`` on a failing testcase let a reporter annotate
the Element's own source line. The Element-level failure (class, message,
location, hint) is attached to the check it failed, so a reader needs no other
file to see why.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

from harness.activation.failures import FailureClass
from harness.redact import redact_text
from harness.results import CheckOutcome, ElementResult, Status

if TYPE_CHECKING:
    from harness.session import RunReport

#: Which timed steps belong to which check, so testcase times add up to the Element's time.
CHECK_STEPS: dict[str, tuple[str, ...]] = {
    "imported": ("import_s",),
    "activated": ("namespace_s", "plan_s", "mock_s", "activate_s"),
    "reactivation_idempotent": ("reactivate_s",),
    "declared_all": ("catalog_s",),
    "manifest_match": ("verify_s",),
    "data_roundtrip": ("roundtrip_s",),
    "teardown_clean": ("teardown_s",),
}


def relative_path(path: str) -> str:
    """A path relative to the working directory when it lies below it (what CI annotates)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path


def _failure_check(result: ElementResult) -> CheckOutcome | None:
    """The check that carries the Element-level failure: the one quoting it, else the first."""
    failed = [check for check in result.checks if check.status == Status.FAILED]
    if result.failure is not None:
        rendered = result.failure.render()
        for check in failed:
            if check.detail == rendered:
                return check
    return failed[0] if failed else None


def _check_time(result: ElementResult, check: CheckOutcome) -> float:
    return sum(result.timings.get(step, 0.0) for step in CHECK_STEPS.get(check.name, ()))


def _suite(result: ElementResult, backend: str, environment: dict[str, object]) -> ET.Element:
    carrier = _failure_check(result)
    checks = list(result.checks)
    orphan = result.failure is not None and carrier is None
    suite = ET.Element("testsuite", name=f"{result.name} [{backend}]")
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("target", result.target),
        ("version", result.version or ""),
        ("datajoint", str(environment.get("datajoint", ""))),
        ("python", str(environment.get("python", ""))),
        ("backend", backend),
        *([("data_seed", str(result.data_roundtrip.get("seed")))] if result.data_roundtrip else []),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for check in checks:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=result.name,
            name=check.name,
            time=f"{_check_time(result, check):.4f}",
        )
        counts["tests"] += 1
        if check.status == Status.SKIPPED:
            ET.SubElement(case, "skipped", message=redact_text(check.detail))
            counts["skipped"] += 1
        elif check.status == Status.FAILED:
            counts[_add_failure(case, result, check, check is carrier)] += 1
    if orphan:  # an Element that failed before any check was recorded
        case = ET.SubElement(suite, "testcase", classname=result.name, name="element", time="0")
        counts["tests"] += 1
        counts[_add_failure(case, result, None, True)] += 1
    suite.set("tests", str(counts["tests"]))
    suite.set("failures", str(counts["failures"]))
    suite.set("errors", str(counts["errors"]))
    suite.set("skipped", str(counts["skipped"]))
    suite.set("time", f"{sum(result.timings.values()):.4f}")
    return suite


def _add_failure(
    case: ET.Element, result: ElementResult, check: CheckOutcome | None, carries: bool
) -> str:
    """Attach ``<failure>`` (or ``<error>`` when the server failed); return the count key."""
    failure = result.failure if carries else None
    kind = failure.class_ if failure is not None else "check_failed"
    message = failure.message if failure is not None else (check.detail if check else "")
    text = [check.detail] if check is not None else []
    if failure is not None:
        where = f"{relative_path(failure.file)}:{failure.line}" if failure.file else ""
        text = [f"{failure.class_}: {failure.message}"]
        text += [f"at {where}"] if where else []
        text += [f"hint: {failure.hint}"] if failure.hint else []
        if check is not None and check.detail != failure.render():
            text.append(check.detail)
        if failure.file:
            case.set("file", relative_path(failure.file))
            if failure.line:
                case.set("line", str(failure.line))
    tag = "error" if kind == FailureClass.SERVER_ERROR else "failure"
    first_line = redact_text(message.splitlines()[0]) if message else ""
    element = ET.SubElement(case, tag, message=first_line, type=kind)
    element.text = redact_text("\n".join(text))
    return "errors" if tag == "error" else "failures"


def junit_tree(report: RunReport) -> ET.ElementTree:
    server = report.environment.get("server") or {}
    backend = str(server.get("backend", "unknown"))
    root = ET.Element("testsuites", name="element-harness")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    elapsed = 0.0
    for result in report.results:
        suite = _suite(result, backend, report.environment)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
        elapsed += float(suite.get("time", "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{elapsed:.4f}")
    return ET.ElementTree(root)


def write_junit(report: RunReport, path: Path) -> None:
    """Write the JUnit file (failure texts are masked with the run's secrets when built)."""
    tree = junit_tree(report)
    ET.indent(tree)
    text = ET.tostring(tree.getroot(), encoding="unicode", xml_declaration=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n", encoding="utf-8")
