"""Results of checking Elements: the data every report format is made from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.activation.failures import Failure, FailureClass
from harness.activation.stubs import StubSite
from harness.db.catalog import Table
from harness.enums import StrEnum


class Status(StrEnum):
    """The status of an Element's result and of each of its checks (docs/report-format.md)."""

    PASSED = "passed"
    FAILED = "failed"
    #: The harness could not check (the server failed), not a verdict on the Element.
    ERROR = "error"
    #: A check that did not run (an earlier one failed, or there was nothing to compare).
    SKIPPED = "skipped"


@dataclass
class CheckOutcome:
    """One named check of one Element (``imported``, ``activated``, ...)."""

    name: str
    status: Status
    detail: str = ""

    def __post_init__(self) -> None:
        self.status = Status(self.status)  # a report read back gives the plain string

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


@dataclass
class ElementResult:
    """Everything known about one checked target."""

    target: str
    name: str
    version: str | None = None
    status: Status = Status.PASSED
    failure: Failure | None = None
    schemas: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    mocked_tables: dict[str, str] = field(default_factory=dict)
    mocked_functions: list[str] = field(default_factory=list)
    #: Where each upstream name came from: {"source": mock / element / spec, "table": path}.
    upstream: dict[str, dict[str, str | None]] = field(default_factory=dict)
    linking_functions: dict[str, list[str]] = field(default_factory=dict)
    stubbed_imports: list[str] = field(default_factory=list)
    #: Each module stubbed, with the Element's import statement that asked for it.
    stub_sites: list[StubSite] = field(default_factory=list)
    activations: list[dict[str, Any]] = field(default_factory=list)
    checks: list[CheckOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    #: The data round-trip's seed and counts (None: it did not run).
    data_roundtrip: dict[str, Any] | None = None
    #: The last lines the check's process printed, kept when the check did not pass.
    output: list[str] = field(default_factory=list)

    def add_check(self, name: str, passed: bool | None, detail: str = "") -> None:
        """Record a check; a check already recorded as failed keeps its failure."""
        status = Status.SKIPPED if passed is None else (Status.PASSED if passed else Status.FAILED)
        existing = self.check(name)
        if existing is not None:
            if existing.status == Status.FAILED:
                return
            self.checks.remove(existing)
        self.checks.append(CheckOutcome(name, status, detail))
        if status == Status.FAILED and self.status == Status.PASSED:
            self.status = Status.FAILED

    def fail(self, failure: Failure) -> None:
        self.failure = failure
        self.status = Status.ERROR if failure.class_ is FailureClass.SERVER_ERROR else Status.FAILED

    def record_failure(self, check: str, failure: Failure) -> None:
        """Fail ``check`` with ``failure``, the result's failure unless one came first."""
        if self.failure is None:
            self.fail(failure)
        self.add_check(check, False, failure.render())

    def check(self, name: str) -> CheckOutcome | None:
        return next((check for check in self.checks if check.name == name), None)

    def __post_init__(self) -> None:
        self.status = Status(self.status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "name": self.name,
            "version": self.version,
            "status": self.status,
            "failure": self.failure.to_dict() if self.failure else None,
            "schemas": self.schemas,
            "tables": [table.to_dict() for table in self.tables],
            "mocked": {"tables": self.mocked_tables, "functions": self.mocked_functions},
            "upstream": dict(sorted(self.upstream.items())),
            "linking_functions": self.linking_functions,
            "stubbed_imports": self.stubbed_imports,
            "stub_sites": [site.to_dict() for site in self.stub_sites],
            "activations": self.activations,
            "checks": [check.to_dict() for check in self.checks],
            "warnings": self.warnings,
            "timings": {key: round(value, 4) for key, value in self.timings.items()},
            "data_roundtrip": self.data_roundtrip,
            "output": self.output,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ElementResult:
        """The inverse of :meth:`to_dict` (a check's process hands its result over so)."""
        from harness.reports.loading import result_from_dict

        return result_from_dict(data)
