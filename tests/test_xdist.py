"""`pytest -n 2` over sample and real Elements gives the same results as a serial run."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import MARIADB

from harness.reports import REPORT_FILES

pytestmark = pytest.mark.docker

ELEMENTS = ["sample-clean", "sample-multischema", "broken-reference", "element-lab"]


def _comparable(report: dict[str, Any]) -> dict[str, Any]:
    """What must not depend on how the run was distributed (no timings, no prefixes)."""
    return {
        element["name"]: {
            "status": element["status"],
            "failure": element["failure"] and element["failure"]["class"],
            "tables": element["tables"],
            "checks": {check["name"]: check["status"] for check in element["checks"]},
            "mocked": element["mocked"],
        }
        for element in report["elements"]
    }


def _run(pytester: pytest.Pytester, *extra: str) -> dict[str, Any]:
    out = pytester.path / f"reports{len(extra)}"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--harness-report", str(out), *extra
    )
    result.assert_outcomes(passed=3, failed=1)
    return json.loads((out / REPORT_FILES["json"]).read_text())


def test_xdist_and_serial_runs_agree(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        f"""
        [tool.harness]
        elements = {json.dumps(ELEMENTS)}
        db = "mariadb"
        image = "{MARIADB}"
        """
    )
    serial = _run(pytester)
    parallel = _run(pytester, "-p", "xdist", "-n", "2")
    assert [e["name"] for e in parallel["elements"]] == ELEMENTS
    assert _comparable(serial) == _comparable(parallel)
    # One server for the whole run, whichever worker started it.
    assert parallel["environment"]["server"]["image"]["name"] == MARIADB
