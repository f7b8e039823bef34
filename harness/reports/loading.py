"""Results back from their JSON form (docs/report-format.md).

pytest-xdist workers are separate processes: each writes the results it
produced as JSON into the run's shared directory and the controller, which
writes the reports, reads them back with these functions.
"""

from __future__ import annotations

from typing import Any

from harness.activation.failures import Failure
from harness.activation.stubs import StubSite
from harness.db.catalog import Table
from harness.results import CheckOutcome, ElementResult


def failure_from_dict(data: dict[str, Any] | None) -> Failure | None:
    if data is None:
        return None
    return Failure(
        data["class"],
        data["message"],
        module=data.get("module"),
        table=data.get("table"),
        file=data.get("file"),
        line=data.get("line"),
        hint=data.get("hint"),
    )


def table_from_dict(data: dict[str, Any]) -> Table:
    return Table.from_dict(data)


def result_from_dict(data: dict[str, Any]) -> ElementResult:
    """The inverse of :meth:`ElementResult.to_dict`."""
    mocked = data.get("mocked", {})
    return ElementResult(
        target=data["target"],
        name=data["name"],
        version=data.get("version"),
        status=data["status"],
        failure=failure_from_dict(data.get("failure")),
        schemas=list(data.get("schemas", [])),
        tables=[table_from_dict(table) for table in data.get("tables", [])],
        mocked_tables=dict(mocked.get("tables", {})),
        mocked_functions=list(mocked.get("functions", [])),
        upstream=dict(data.get("upstream", {})),
        linking_functions=dict(data.get("linking_functions", {})),
        stubbed_imports=list(data.get("stubbed_imports", [])),
        stub_sites=[StubSite.from_dict(site) for site in data.get("stub_sites", [])],
        activations=list(data.get("activations", [])),
        checks=[CheckOutcome(**check) for check in data.get("checks", [])],
        warnings=list(data.get("warnings", [])),
        timings=dict(data.get("timings", {})),
        data_roundtrip=data.get("data_roundtrip"),
        output=list(data.get("output", [])),
    )
