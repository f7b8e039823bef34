"""All 12 real Elements end to end, from a cold start: ``harness check`` and ``pytest -n 2``.

What a lab pays for the whole suite, as a user runs it, in a fresh process each time
(interpreter start, imports of DataJoint and the Elements, a fresh server container,
every check, teardown, container removal):

* **serial**: ``harness check <the 12 specs> --db mysql --image IMAGE --json PATH``,
  one process, one server.
* **pytest -n 2**: ``pytest -n 2`` (pytest-xdist) in a temporary project whose
  ``pyproject.toml`` says ``[tool.harness] elements = [...]``: two workers sharing one
  server (see ``harness/shared_server.py``).

Both alternate which goes first, round by round. Each round's wall time is taken
around the subprocess. The containers are the harness's own and are removed by it; a
final ``harness sweep`` removes any a killed run left (dead runs' containers only).

    python bench/elements_e2e.py [--rounds 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

IMAGE = "element-harness/mysql:9.7"
#: The 12 real Elements with specs under elements/ (not the samples).
ELEMENTS: tuple[str, ...] = (
    "element-lab",
    "element-animal",
    "element-session",
    "element-event",
    "element-array-ephys",
    "element-calcium-imaging",
    "element-deeplabcut",
    "element-electrode-localization",
    "element-facemap",
    "element-miniscope",
    "element-optogenetics",
    "element-zstack",
)
#: Every wait is bounded: a whole run may take at most this long.
RUN_TIMEOUT = 600.0
BIN = Path(sys.executable).parent


@dataclass
class Run:
    """One timed subprocess."""

    seconds: float
    passed: int
    failed: int
    returncode: int


def serial_once(workdir: Path) -> Run:
    """``harness check`` of the 12 specs in one process; counts from its JSON report."""
    report = workdir / "report.json"
    command = [str(BIN / "harness"), "check", *ELEMENTS, "--db", "mysql", "--image", IMAGE]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--json", str(report), "-q"],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    elapsed = time.perf_counter() - started
    summary = json.loads(report.read_text())["summary"] if report.exists() else {}
    if done.returncode not in (0, 1):
        raise RuntimeError(f"harness check exited {done.returncode}:\n{done.stderr[-2000:]}")
    return Run(
        elapsed,
        summary.get("passed", 0),
        summary.get("failed", 0) + summary.get("error", 0),
        done.returncode,
    )


def write_project(directory: Path) -> None:
    """A project that asks the harness for the 12 Elements (and nothing else to test)."""
    names = ", ".join(f'"{name}"' for name in ELEMENTS)
    (directory / "pyproject.toml").write_text(
        f'[tool.harness]\nelements = [{names}]\ndb = "mysql"\nimage = "{IMAGE}"\n',
        encoding="utf-8",
    )


def pytest_once(project: Path, workers: int) -> Run:
    """``pytest -n WORKERS`` in ``project``; counts from pytest's summary line."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", str(workers), "-q", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    elapsed = time.perf_counter() - started
    counts = {
        word: int(number)
        for number, word in re.findall(r"(\d+) (passed|failed|error)", done.stdout.splitlines()[-1])
    }
    if done.returncode not in (0, 1):
        raise RuntimeError(f"pytest exited {done.returncode}:\n{done.stdout[-3000:]}")
    return Run(
        elapsed, counts.get("passed", 0), counts.get("failed", 0) + counts.get("error", 0),
        done.returncode,
    )  # fmt: skip


@dataclass
class Samples:
    serial: list[Run] = field(default_factory=list)
    xdist: list[Run] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        def summary(runs: list[Run]) -> dict[str, Any]:
            seconds = [run.seconds for run in runs]
            return {
                "median": round(statistics.median(seconds), 2),
                "min": round(min(seconds), 2),
                "max": round(max(seconds), 2),
                "samples": [round(s, 2) for s in seconds],
                "passed": [run.passed for run in runs],
                "failed": [run.failed for run in runs],
            }

        return {"serial": summary(self.serial), "pytest_n2": summary(self.xdist)}


def run_benchmark(rounds: int, workers: int, say: Callable[[str], None]) -> Samples:
    samples = Samples()
    with tempfile.TemporaryDirectory(prefix="eh-e2e-") as temp:
        workdir = Path(temp)
        project = workdir / "project"
        project.mkdir()
        write_project(project)
        say("warm-up (page cache, .pyc files)")
        serial_once(workdir)
        for number in range(1, rounds + 1):
            if number % 2:
                samples.serial.append(serial_once(workdir))
                samples.xdist.append(pytest_once(project, workers))
            else:
                samples.xdist.append(pytest_once(project, workers))
                samples.serial.append(serial_once(workdir))
            serial, xdist = samples.serial[-1], samples.xdist[-1]
            say(
                f"round {number}/{rounds}: serial {serial.seconds:.1f} s "
                f"({serial.passed} passed, {serial.failed} failed), pytest -n {workers} "
                f"{xdist.seconds:.1f} s ({xdist.passed} passed, {xdist.failed} failed)"
            )
    return samples


def table(samples: Samples, workers: int) -> str:
    def row(name: str, runs: list[Run]) -> str:
        seconds = [run.seconds for run in runs]
        verdict = "met" if statistics.median(seconds) <= 60 else "missed"
        return (
            f"| {name} | {statistics.median(seconds):.1f} [{min(seconds):.1f}-{max(seconds):.1f}]"
            f" | {runs[-1].passed}/{len(ELEMENTS)} | {verdict} |"
        )

    return "\n".join(
        [
            "| run (12 Elements, cold server) | wall s, median [min-max] | passed | <= 60 s |",
            "|---|---|---|---|",
            row("harness check (serial)", samples.serial),
            row(f"pytest -n {workers}", samples.xdist),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each")
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import machine, say, write_json

    load_before = os.getloadavg()
    try:
        samples = run_benchmark(args.rounds, args.workers, say)
    finally:
        # Dead runs' containers only (a run killed by the timeout); never a live one's.
        subprocess.run(
            [str(BIN / "harness"), "sweep"], capture_output=True, timeout=120, check=False
        )
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", "bench/elements_e2e.py", *(argv or sys.argv[1:])]),
        "rounds": args.rounds,
        "image": IMAGE,
        "machine": {
            **machine(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "results": samples.to_dict(),
    }
    print(table(samples, args.workers))
    write_json(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
