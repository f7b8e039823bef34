"""All 12 real Elements end to end, from a cold start: ``harness check`` at 1, 2 and default jobs.

What a lab pays for the whole suite, as a user runs it, in a fresh process each time
(interpreter start, imports of DataJoint and the Elements, a fresh server container,
every check, teardown, container removal):

* **default jobs**: ``harness check <the 12 specs> --db mysql --image IMAGE --json PATH``
  (``--jobs`` defaults to the number of cores);
* **--jobs 1** and **--jobs 2**: the same with the option given;
* **pytest -n 2** (only with ``--with-pytest``): ``pytest -n 2`` (pytest-xdist) in a
  temporary project whose ``pyproject.toml`` says ``[tool.harness] elements = [...]``:
  two workers sharing one server (see ``harness/shared_server.py``).

One untimed warm-up (it also installs what the specs name), then every variant once a
round, rotating which goes first. Each wall time is taken around the subprocess, with
its user + system CPU (the children's ``getrusage`` delta). The breakdown sums each
step over the report's checks (a check's own time is the sum of its steps);
``activate_s`` summed is DataJoint's own declaration of every table, the floor no
harness can go under. The report has no timestamps, so the time outside the checks
(interpreter start, imports, the server's start and removal, forking, the report) is
bounded from above: wall minus a lower bound of the checks' span (``checks_span_s`` in
``bench/common.py``). The containers are the harness's own and are removed by it; a
final ``harness sweep`` removes any a killed run left (dead runs' containers only).

    python bench/elements_e2e.py [--rounds 3] [--with-pytest] [--json PATH]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    STEPS,
    calibration_s,
    checks_span_s,
    children_cpu_s,
    clean_environment,
    machine,
    report_figures,
    say,
    spread,
    write_json,
)

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
DEFAULT_JOBS = os.cpu_count() or 1
#: variant name -> (label, extra arguments of ``harness check``, jobs it runs with).
CHECKS: dict[str, tuple[str, tuple[str, ...], int]] = {
    "default": (f"harness check (default, --jobs {DEFAULT_JOBS})", (), DEFAULT_JOBS),
    "jobs1": ("harness check --jobs 1", ("--jobs", "1"), 1),
    "jobs2": ("harness check --jobs 2", ("--jobs", "2"), 2),
}
PYTEST = "pytest_n"


@dataclass
class Run:
    """One timed subprocess."""

    seconds: float
    cpu_s: float
    passed: int
    failed: int
    #: ``report_figures`` of its JSON report (empty for pytest).
    figures: dict[str, Any] = field(default_factory=dict)


def check_once(workdir: Path, extra: tuple[str, ...]) -> Run:
    """``harness check`` of the 12 specs in one process; counts from its JSON report."""
    report = workdir / "report.json"
    report.unlink(missing_ok=True)
    command = [str(BIN / "harness"), "check", *ELEMENTS, "--db", "mysql", "--image", IMAGE]
    cpu_before = children_cpu_s()
    started = time.perf_counter()
    done = subprocess.run(
        [*command, *extra, "--json", str(report), "-q"],
        cwd=workdir,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    elapsed = time.perf_counter() - started
    cpu = children_cpu_s() - cpu_before
    if done.returncode not in (0, 1) or not report.exists():
        raise RuntimeError(f"harness check exited {done.returncode}:\n{done.stderr[-2000:]}")
    figures = report_figures(json.loads(report.read_text(encoding="utf-8")))
    return Run(elapsed, cpu, figures["passed"], figures["checks"] - figures["passed"], figures)


def write_project(directory: Path) -> None:
    """A project that asks the harness for the 12 Elements (and nothing else to test)."""
    names = ", ".join(f'"{name}"' for name in ELEMENTS)
    (directory / "pyproject.toml").write_text(
        f'[tool.harness]\nelements = [{names}]\ndb = "mysql"\nimage = "{IMAGE}"\n',
        encoding="utf-8",
    )


def pytest_once(project: Path, workers: int) -> Run:
    """``pytest -n WORKERS`` in ``project``; counts from pytest's summary line."""
    cpu_before = children_cpu_s()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", str(workers), "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    elapsed = time.perf_counter() - started
    cpu = children_cpu_s() - cpu_before
    counts = {
        word: int(number)
        for number, word in re.findall(r"(\d+) (passed|failed|error)", done.stdout.splitlines()[-1])
    }
    if done.returncode not in (0, 1):
        raise RuntimeError(f"pytest exited {done.returncode}:\n{done.stdout[-3000:]}")
    return Run(
        elapsed, cpu, counts.get("passed", 0), counts.get("failed", 0) + counts.get("error", 0)
    )


def run_benchmark(
    rounds: int, workers: int | None, say: Callable[[str], None]
) -> dict[str, list[Run]]:
    """Every variant ``rounds`` times after one warm-up; runs by variant name."""
    with tempfile.TemporaryDirectory(prefix="eh-e2e-") as temp:
        workdir = Path(temp)
        project = workdir / "project"
        project.mkdir()
        write_project(project)
        kinds: dict[str, Callable[[], Run]] = {
            name: (lambda extra=extra: check_once(workdir, extra))
            for name, (_, extra, _) in CHECKS.items()
        }
        if workers is not None:
            kinds[PYTEST] = lambda: pytest_once(project, workers)
        say("warm-up (installs what the specs name; page cache, .pyc files)")
        kinds["default"]()
        runs: dict[str, list[Run]] = {name: [] for name in kinds}
        order = list(kinds)
        for number in range(rounds):
            shift = number % len(order)
            for name in order[shift:] + order[:shift]:
                runs[name].append(kinds[name]())
            say(
                f"round {number + 1}/{rounds}: "
                + ", ".join(
                    f"{name} {r[-1].seconds:.1f} s ({r[-1].passed} passed, {r[-1].failed} failed)"
                    for name, r in runs.items()
                )
                + f" (load {os.getloadavg()[0]:.1f})"
            )
    return runs


def tables(runs: dict[str, list[Run]], workers: int | None) -> str:
    """Markdown: wall and CPU against --jobs 1, then the per-step sums of each variant."""
    labels = {name: label for name, (label, _, _) in CHECKS.items()}
    labels[PYTEST] = f"pytest -n {workers}"
    base = statistics.median(run.seconds for run in runs["jobs1"])
    lines = [
        "| run (12 Elements, cold server) | wall s, median [min-max] | / --jobs 1 "
        "| CPU s (user+sys) | passed |",
        "|---|---|---|---|---|",
    ]
    for name, variant_runs in runs.items():
        seconds = [run.seconds for run in variant_runs]
        lines.append(
            f"| {labels[name]} | {spread(seconds, 1)} | {statistics.median(seconds) / base:.2f} "
            f"| {spread([run.cpu_s for run in variant_runs], 1)} "
            f"| {variant_runs[-1].passed}/{len(ELEMENTS)} |"
        )
    checks = [name for name in CHECKS if name in runs]
    lines += [
        "",
        "| step (summed over the 12 checks), s median | "
        + " | ".join(labels[name] for name in checks)
        + " |",
        "|---|" + "---|" * len(checks),
    ]

    def row(title: str, value: Callable[[Run, int], float], digits: int = 2) -> str:
        cells = [
            f"{statistics.median(value(run, CHECKS[name][2]) for run in runs[name]):.{digits}f}"
            for name in checks
        ]
        return f"| {title} | " + " | ".join(cells) + " |"

    for step in STEPS:
        title = step.removesuffix("_s")
        if step == "activate_s":
            title = "**activate (DataJoint's own declaration: the floor)**"
        lines.append(row(title, lambda run, jobs, step=step: run.figures["steps"][step]))
    lines.append(row("**all checks' steps**", lambda run, jobs: run.figures["checks_s"]))
    longest = {run.figures["longest"]["name"] for name in checks for run in runs[name]}
    lines.append(
        row(
            f"longest check ({', '.join(sorted(longest))})",
            lambda run, jobs: run.figures["longest"]["seconds"],
        )
    )
    lines.append(row("checks' span, at least", lambda run, jobs: checks_span_s(run.figures, jobs)))
    lines.append(
        row(
            "outside the checks, at most",
            lambda run, jobs: run.seconds - checks_span_s(run.figures, jobs),
        )
    )
    lines.append(row("**wall**", lambda run, jobs: run.seconds))
    return "\n".join(lines)


def ratios(runs: dict[str, list[Run]]) -> dict[str, float]:
    wall = {name: statistics.median(run.seconds for run in r) for name, r in runs.items()}
    return {
        "jobs2_over_jobs1": wall["jobs2"] / wall["jobs1"],
        "default_over_jobs1": wall["default"] / wall["jobs1"],
    }


def to_dict(runs: dict[str, list[Run]]) -> dict[str, Any]:
    def summary(variant_runs: list[Run]) -> dict[str, Any]:
        seconds = [run.seconds for run in variant_runs]
        return {
            "median": round(statistics.median(seconds), 2),
            "min": round(min(seconds), 2),
            "max": round(max(seconds), 2),
            "samples": [round(s, 2) for s in seconds],
            "cpu_s": [round(run.cpu_s, 2) for run in variant_runs],
            "passed": [run.passed for run in variant_runs],
            "failed": [run.failed for run in variant_runs],
            "figures": [run.figures for run in variant_runs],
        }

    return {
        **{name: summary(variant_runs) for name, variant_runs in runs.items()},
        "ratios": {key: round(value, 3) for key, value in ratios(runs).items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each")
    parser.add_argument(
        "--with-pytest", action="store_true", help="also time pytest -n WORKERS (slow)"
    )
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    calibration = calibration_s()
    workers = args.workers if args.with_pytest else None
    try:
        runs = run_benchmark(args.rounds, workers, say)
    finally:
        # Dead runs' containers only (a run killed by the timeout); never a live one's.
        subprocess.run(
            [str(BIN / "harness"), "sweep"], capture_output=True, timeout=120, check=False
        )
    figures = ratios(runs)
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", "bench/elements_e2e.py", *(argv or sys.argv[1:])]),
        "rounds": args.rounds,
        "image": IMAGE,
        "default_jobs": DEFAULT_JOBS,
        "calibration_10M_additions_s": round(calibration, 4),
        "machine": {
            **machine(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "results": to_dict(runs),
    }
    print(f"median of {args.rounds} round(s) · {IMAGE}, a fresh container each run\n")
    print(tables(runs, workers))
    print(
        f"\nratio --jobs 2/--jobs 1: {figures['jobs2_over_jobs1']:.2f}; "
        f"default (--jobs {DEFAULT_JOBS})/--jobs 1: {figures['default_over_jobs1']:.2f}"
    )
    print(
        f"calibration: 10M pure-Python additions in {calibration:.3f} s (best of 3); "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    write_json(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
