"""What the pytest plugin costs a project that never uses it.

Installing the harness registers its plugin for every pytest run in that
environment. This measures one trivial project (a pyproject.toml and 20 one-line
tests, no harness option, fixture or item) run by this interpreter's pytest, with the
plugin (the default) and without it (``-p no:harness``), alternating which goes
first round by round, after one untimed warm-up of each. Each run is a fresh
process, so the figure includes loading the plugin, adding its options, resolving
its settings and its hooks during collection and the run.

Also reported: the plugin's own import time, in a process where pytest is
imported already (what the entry point adds on top of pytest's start-up).

Target: with the plugin at most 5 % slower than without (median wall time; the
median CPU time of the pytest processes is reported too, being steadier on a
shared machine).

    python bench/plugin_overhead.py [--rounds 21] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

TESTS = 20
TARGET_RATIO = 1.05
_IMPORT_PLUGIN = (
    "import time, pytest\n"
    "t = time.perf_counter()\n"
    "import harness.pytest_plugin\n"
    "print(time.perf_counter() - t)\n"
)


def make_project(directory: Path) -> Path:
    """A project unrelated to the harness: its own pyproject.toml and trivial tests."""
    (directory / "pyproject.toml").write_text(
        '[project]\nname = "unrelated"\nversion = "1"\n\n'
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
        encoding="utf-8",
    )
    tests = directory / "tests"
    tests.mkdir()
    body = "".join(f"def test_{i}():\n    assert {i} == {i}\n\n\n" for i in range(TESTS))
    (tests / "test_trivial.py").write_text(body, encoding="utf-8")
    return directory


def environment() -> dict[str, str]:
    """This environment without settings that would make the plugin do something."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "PYTEST_"))}


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_pytest(project: Path, *extra: str) -> tuple[float, float]:
    """Wall and CPU seconds of one pytest process over ``project``; fails loudly if tests fail.

    CPU time is reported beside wall time because the machine is shared: other
    people's load stretches wall time, while a process's own CPU time barely moves.
    """
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
    cpu_before = _children_cpu_s()
    start = time.perf_counter()
    done = subprocess.run(
        command, cwd=project, env=environment(), capture_output=True, text=True, timeout=300
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or f"{TESTS} passed" not in done.stdout:
        raise SystemExit(f"pytest failed in {project}:\n{done.stdout}\n{done.stderr}")
    return elapsed, _children_cpu_s() - cpu_before


def plugin_import_s() -> float:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_PLUGIN],
        env=environment(),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return float(done.stdout.strip())


def run_benchmark(rounds: int, say: Any) -> dict[str, Any]:
    kinds = {"with_plugin": (), "without_plugin": ("-p", "no:harness")}
    wall: dict[str, list[float]] = {kind: [] for kind in kinds}
    cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
    with tempfile.TemporaryDirectory(prefix="plugin-overhead-") as tmp:
        project = make_project(Path(tmp))
        for extra in kinds.values():  # warm-up: bytecode caches, page cache
            run_pytest(project, *extra)
        for index in range(rounds):
            order = list(kinds) if index % 2 == 0 else list(reversed(kinds))
            for kind in order:
                elapsed, used = run_pytest(project, *kinds[kind])
                wall[kind].append(elapsed)
                cpu[kind].append(used)
            say(
                f"round {index + 1}/{rounds}: with {wall['with_plugin'][-1]:.3f} s, "
                f"without {wall['without_plugin'][-1]:.3f} s"
            )
        imports = [plugin_import_s() for _ in range(rounds)]
    median = {kind: statistics.median(values) for kind, values in wall.items()}
    median_cpu = {kind: statistics.median(values) for kind, values in cpu.items()}
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "median_s": median,
        "min_s": {kind: min(values) for kind, values in wall.items()},
        "median_cpu_s": median_cpu,
        "ratio": median["with_plugin"] / median["without_plugin"],
        "cpu_ratio": median_cpu["with_plugin"] / median_cpu["without_plugin"],
        "plugin_import_median_s": statistics.median(imports),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=21, help="timed rounds of each kind")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import machine, say, write_json

    results = run_benchmark(args.rounds, say)
    median, low, cpu = results["median_s"], results["min_s"], results["median_cpu_s"]
    print(
        f"pytest, trivial project ({TESTS} tests), {args.rounds} rounds; "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs\n"
        f"| run | wall s, median [min] | CPU s, median |\n|---|---|---|\n"
        f"| with the plugin | {median['with_plugin']:.3f} [{low['with_plugin']:.3f}] "
        f"| {cpu['with_plugin']:.3f} |\n"
        f"| without (`-p no:harness`) | {median['without_plugin']:.3f} "
        f"[{low['without_plugin']:.3f}] | {cpu['without_plugin']:.3f} |\n"
        f"ratio with/without: wall {results['ratio']:.3f}, CPU {results['cpu_ratio']:.3f} "
        f"(target <= {TARGET_RATIO}); plugin import after pytest "
        f"{results['plugin_import_median_s'] * 1000:.1f} ms"
    )
    write_json(
        {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": " ".join(["python", "bench/plugin_overhead.py", *(argv or sys.argv[1:])]),
            "rounds": args.rounds,
            "machine": {**machine(), "load_average": [round(x, 2) for x in os.getloadavg()]},
            "results": results,
        },
        args.json,
    )
    return 0 if results["ratio"] <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
