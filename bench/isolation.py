"""What a process per check costs: the 12 Elements cold, in-process against isolated.

Three ways of checking the same Elements, each round in a fresh interpreter (imports,
a fresh server container, every check, teardown, container removal), in the same
benchmark run, rotating which goes first round by round:

* **in-process**: ``run_checks(..., isolate=False)``: every check in the harness's own
  process, one after the other (the engine before isolation);
* **isolated serial**: ``run_checks(..., jobs=1)``: each check in a process of its own;
* **isolated --jobs 2**: ``run_checks(..., jobs=2)``: two such processes at a time.

Each round reports the wall time around the subprocess and the time of
``run_checks`` alone (``checks_s``: what isolation can change). Before the rounds,
one untimed run installs what the specs name and warms the page cache.

A second part chooses how check processes start: the cost of starting one process
and having it ready to check (DataJoint, numpy, pandas, the driver and the engine
imported), for ``fork`` of a parent that imported them first, ``forkserver`` with
them preloaded and ``spawn``, each child ending with the full garbage collection a
check soon triggers (``fork+freeze``: the parent calls ``gc.freeze()`` first, as the
harness does, so that collection does not copy the inherited heap); each method in a
fresh interpreter, ``--starts``
processes one after the other, plus its one-time cost (the parent's imports for
``fork``, the server's start for ``forkserver``).

    python bench/isolation.py [--rounds 3] [--elements element-lab,element-session] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

IMAGE = "element-harness/mysql:9.7"
MODES = {"in-process": (False, 1), "isolated serial": (True, 1), "isolated --jobs 2": (True, 2)}
#: ``fork+freeze`` is what the harness does: fork after ``gc.freeze()``.
START_METHODS = ("fork", "fork+freeze", "forkserver", "spawn")
#: What a check process needs before Element code runs.
READY_IMPORTS = ("datajoint", "numpy", "pandas", "pymysql", "harness.activation.runner")
#: Every wait is bounded.
RUN_TIMEOUT = 900.0
HERE = Path(__file__).resolve()


def one_run(mode: str, elements: list[str]) -> dict[str, Any]:
    """One cold run of ``mode`` (in this fresh interpreter); its figures as a dict."""
    started = time.perf_counter()
    from harness.activation.runner import CheckOptions
    from harness.db.provider import provide_server
    from harness.runinfo import RunIdentity
    from harness.session import prepare_targets, run_checks
    from harness.settings import Settings

    install = mode == "install"
    targets = prepare_targets(elements, install=install, say=lambda text: None)
    isolate, jobs = MODES.get(mode, (True, 1))
    run = RunIdentity.new()
    with provide_server(Settings(db="mysql", image=IMAGE), run) as server:
        checks_started = time.perf_counter()
        report = run_checks(targets, server, run, CheckOptions(), jobs=jobs, isolate=isolate)
        checks = time.perf_counter() - checks_started
    failed = [r.name for r in report.results if r.status != "passed"]
    return {
        "checks_s": checks,
        "inner_wall_s": time.perf_counter() - started,
        "passed": report.summary()["passed"],
        "total": len(report.results),
        "failed": failed,
    }


def _ready(writer: Any) -> None:
    import gc
    import importlib

    for name in READY_IMPORTS:
        importlib.import_module(name)
    gc.collect()  # a check's allocations soon trigger one; it walks the inherited heap
    writer.send("ready")
    writer.close()


def start_cost(method: str, starts: int) -> dict[str, Any]:
    """Seconds to start one check process until it is ready, for one start method."""
    import gc
    import importlib

    context = multiprocessing.get_context(method.split("+")[0])
    once_started = time.perf_counter()
    if method.startswith("fork") and method != "forkserver":
        for name in READY_IMPORTS:  # what the harness does before its first fork
            importlib.import_module(name)
        if method == "fork+freeze":
            gc.freeze()
    if method == "forkserver":
        context.set_forkserver_preload(list(READY_IMPORTS))
    once = time.perf_counter() - once_started
    each = []
    for _ in range(starts):
        began = time.perf_counter()
        reader, writer = context.Pipe(duplex=False)
        process = context.Process(target=_ready, args=(writer,))
        process.start()
        writer.close()
        if not reader.poll(120) or reader.recv() != "ready":
            raise RuntimeError(f"{method}: the process did not get ready")
        process.join(30)
        each.append(time.perf_counter() - began)
    if method == "forkserver":  # its first start includes the server's own start
        once += each[0] - statistics.median(each[1:] or each)
    return {"once_s": once, "each_s": each}


def _subprocess(args: list[str]) -> tuple[dict[str, Any], float]:
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(HERE), *args],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1]), wall


def run_benchmark(elements: list[str], rounds: int, starts: int, say: Any) -> dict[str, Any]:
    say(f"installing and warming up ({len(elements)} Elements)")
    warm, _ = _subprocess(["--one", "install", "--elements", ",".join(elements)])
    if warm["failed"]:
        raise RuntimeError(f"these do not pass, so the figures would mean little: {warm}")
    samples: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    order = list(MODES)
    for number in range(rounds):
        for mode in order[number % len(order) :] + order[: number % len(order)]:
            figures, wall = _subprocess(["--one", mode, "--elements", ",".join(elements)])
            figures["wall_s"] = wall
            samples[mode].append(figures)
            say(f"round {number + 1} {mode}: wall {wall:.2f} s, checks {figures['checks_s']:.2f} s")
    methods = {}
    for method in START_METHODS:
        methods[method], _ = _subprocess(["--start", method, "--starts", str(starts)])
        each = statistics.median(methods[method]["each_s"])
        say(f"start method {method}: {each * 1000:.1f} ms per process")
    return {"modes": samples, "start_methods": methods}


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


def tables(results: dict[str, Any]) -> str:
    modes = results["modes"]
    base_wall = statistics.median(r["wall_s"] for r in modes["in-process"])
    base_checks = statistics.median(r["checks_s"] for r in modes["in-process"])
    serial_checks = statistics.median(r["checks_s"] for r in modes["isolated serial"])
    lines = [
        "| mode | wall s | checks s | wall / in-process | checks / in-process "
        "| checks / isolated serial |",
        "|---|---|---|---|---|---|",
    ]
    for mode, runs in modes.items():
        wall = [r["wall_s"] for r in runs]
        checks = [r["checks_s"] for r in runs]
        lines.append(
            f"| {mode} | {_median(wall)} | {_median(checks)} | "
            f"{statistics.median(wall) / base_wall:.3f} | "
            f"{statistics.median(checks) / base_checks:.3f} | "
            f"{statistics.median(checks) / serial_checks:.3f} |"
        )
    lines += ["", "| start method | one-time s | per check process ms |", "|---|---|---|"]
    for method, figures in results["start_methods"].items():
        each = [value * 1000 for value in figures["each_s"]]
        lines.append(
            f"| {method} | {figures['once_s']:.2f} | {statistics.median(each):.1f} "
            f"[{min(each):.1f}-{max(each):.1f}] |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of each mode")
    parser.add_argument("--starts", type=int, default=12, help="processes per start method")
    parser.add_argument("--elements", help="comma-separated specs (default: the 12 Elements)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--one", metavar="MODE", help=argparse.SUPPRESS)
    parser.add_argument("--start", metavar="METHOD", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    from common import machine, say, write_json
    from elements_e2e import ELEMENTS

    elements = args.elements.split(",") if args.elements else list(ELEMENTS)
    if args.one:
        print(json.dumps(one_run(args.one, elements)))
        return 0
    if args.start:
        print(json.dumps(start_cost(args.start, args.starts)))
        return 0
    load_before = os.getloadavg()
    try:
        results = run_benchmark(elements, args.rounds, args.starts, say)
    finally:
        # Dead runs' containers only (a run killed by the timeout); never a live one's.
        harness = Path(sys.executable).parent / "harness"
        subprocess.run([str(harness), "sweep"], capture_output=True, timeout=120, check=False)
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", "bench/isolation.py", *(argv or sys.argv[1:])]),
        "rounds": args.rounds,
        "image": IMAGE,
        "elements": elements,
        "machine": {
            **machine(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "results": results,
    }
    print(tables(results))
    write_json(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
