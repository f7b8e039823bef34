"""The whole compatibility matrix on this machine: wall time of ``harness matrix``.

The 12 real Elements x DataJoint 0.14.10 and 2.3.5 x MySQL, MariaDB and PostgreSQL
(PostgreSQL with 2.x only: five combinations, 60 cells), run as a user runs it, with
the project's two existing environments (``--python-env``: building environments is
a one-off cost the matrix caches, not part of a run) and an empty result cache in a
temporary directory, so that every cell is checked, on the local images. The matrix
starts (and removes) one server container per combination, ``--jobs`` at a time.

Each round is timed around the subprocess. Target: at most 10 minutes. A final
``harness sweep`` removes containers a killed run left (dead runs' only).

    python bench/matrix_wall.py [--rounds 1] [--jobs 2] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from elements_e2e import BIN, ELEMENTS

REPO = Path(__file__).resolve().parents[1]
ENVIRONMENTS = {"0.14.10": REPO / ".venvs" / "dj-0.14.10", "2.3.5": REPO / ".venv"}
IMAGES = {
    "mysql": "element-harness/mysql:9.7",
    "mariadb": "element-harness/mariadb:10.11",
    "postgresql": "element-harness/postgres:15",
}
#: Every wait is bounded: three times the target.
RUN_TIMEOUT = 1800.0


def matrix_once(jobs: int) -> tuple[float, Counter[str], int]:
    """One ``harness matrix`` run with a fresh cache: seconds, cell statuses, exit code."""
    with tempfile.TemporaryDirectory(prefix="eh-matrix-") as temp:
        report = Path(temp) / "matrix.json"
        command = [str(BIN / "harness"), "matrix", *ELEMENTS, "--jobs", str(jobs), "-q"]
        command += ["--cache-dir", str(Path(temp) / "cache"), "--json", str(report)]
        for version, path in ENVIRONMENTS.items():
            command += ["--python-env", f"{version}={path}"]
        for db, image in IMAGES.items():
            command += ["--image", f"{db}={image}"]
        started = time.perf_counter()
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False, cwd=REPO
        )
        elapsed = time.perf_counter() - started
        if done.returncode not in (0, 1) or not report.exists():
            raise RuntimeError(f"harness matrix exited {done.returncode}:\n{done.stderr[-3000:]}")
        cells = json.loads(report.read_text())["cells"]
        return elapsed, Counter(cell["status"] for cell in cells), done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1, help="timed runs")
    parser.add_argument("--jobs", type=int, default=2, help="harness matrix --jobs")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    from common import machine, write_json

    load_before = os.getloadavg()
    runs: list[dict[str, Any]] = []
    try:
        for number in range(1, args.rounds + 1):
            seconds, statuses, code = matrix_once(args.jobs)
            runs.append({"seconds": round(seconds, 1), "cells": dict(statuses), "exit": code})
            print(
                f"round {number}/{args.rounds}: {seconds:.0f} s, {dict(statuses)}", file=sys.stderr
            )
    finally:
        subprocess.run(
            [str(BIN / "harness"), "sweep"], capture_output=True, timeout=120, check=False
        )
    median = statistics.median(run["seconds"] for run in runs)
    verdict = "met" if median <= 600 else "missed"
    print("| run | wall s (median) | cells | <= 600 s |\n|---|---|---|---|")
    print(f"| harness matrix --jobs {args.jobs} | {median:.0f} | {runs[-1]['cells']} | {verdict} |")
    if args.json:
        report = {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(["python", "bench/matrix_wall.py", *(argv or sys.argv[1:])]),
            "machine": {
                **machine(),
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
            },
            "images": IMAGES,
            "runs": runs,
        }
        write_json(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
