"""What every benchmark script shares: the machine description, progress lines, JSON output.

The scripts are run as files (``python bench/x.py``), so this module is imported
by putting ``bench/`` on ``sys.path`` (see :func:`import_path`).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def say(text: str) -> None:
    """A progress line on stderr, so that stdout holds only the figures."""
    print(text, file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    mem_kb = 0
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    docker = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "docker": docker,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def write_json(report: dict[str, Any], path: str | None) -> None:
    """Write the report as indented JSON when a path was asked for."""
    if path:
        Path(path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


#: Step names of a check's ``timings`` in pipeline order (the JSON report's
#: ``elements[*].timings``); ``roundtrip_s`` is absent when ``--no-data`` was given.
STEPS: tuple[str, ...] = (
    "namespace_s",
    "import_s",
    "plan_s",
    "mock_s",
    "activate_s",
    "reactivate_s",
    "catalog_s",
    "verify_s",
    "roundtrip_s",
    "teardown_s",
)


def clean_environment(**extra: str) -> dict[str, str]:
    """This environment without settings that would change what a child process does.

    ``HARNESS_*`` and DataJoint's ``DJ_*`` variables are dropped (``--external`` falls
    back to ``DJ_HOST`` and friends), then ``extra`` is added: the only way a bench
    hands a child a password, so that it shows neither in ``ps`` nor in any output.
    """
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "DJ_"))}
    return {**kept, **extra}


def children_cpu_s() -> float:
    """User + system CPU seconds of every waited-for child so far (deltas price one)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def container_cpu_s(container_id: str) -> float | None:
    """CPU seconds a container has used so far, from its cgroup (None: not found).

    cgroup v2 (``cpu.stat``'s ``usage_usec``) under the hybrid layout's ``unified/docker``
    or systemd's ``docker-<id>.scope``, else v1's ``cpuacct.usage`` (nanoseconds).
    """
    root = Path("/sys/fs/cgroup")
    for stat in (
        root / "unified" / "docker" / container_id / "cpu.stat",
        root / "system.slice" / f"docker-{container_id}.scope" / "cpu.stat",
        root / "docker" / container_id / "cpu.stat",
    ):
        if stat.exists():
            for line in stat.read_text(encoding="ascii").splitlines():
                name, _, value = line.partition(" ")
                if name == "usage_usec":
                    return int(value) / 1e6
    usage = root / "cpuacct" / "docker" / container_id / "cpuacct.usage"
    if usage.exists():
        return int(usage.read_text(encoding="ascii")) / 1e9
    return None


def calibration_s(additions: int = 10_000_000) -> float:
    """Seconds for a fixed pure-Python loop (best of three), to compare machines' speed.

    The minimum is the figure least disturbed by other load on a shared machine.
    """
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for number in range(additions):
            total += number
        best = min(best, time.perf_counter() - started)
    return best


def report_figures(report: dict[str, Any]) -> dict[str, Any]:
    """Per-step sums over a JSON report's checks, the longest check, pass counts.

    A check's own time is the sum of its step timings (its process's start and the
    result's hand-over are not in them).
    """
    elements = report.get("elements", [])
    steps = {step: 0.0 for step in STEPS}
    longest_name, longest_s, checks_s = "", 0.0, 0.0
    for element in elements:
        own = 0.0
        for step in STEPS:
            seconds = float(element.get("timings", {}).get(step, 0.0))
            steps[step] += seconds
            own += seconds
        checks_s += own
        if own > longest_s:
            longest_name, longest_s = element.get("name", "?"), own
    return {
        "steps": steps,
        "checks_s": checks_s,
        "longest": {"name": longest_name, "seconds": longest_s},
        "checks": len(elements),
        "passed": sum(1 for element in elements if element.get("status") == "passed"),
        "failed": [e.get("name", "?") for e in elements if e.get("status") != "passed"],
    }


def checks_span_s(figures: dict[str, Any], jobs: int) -> float:
    """A lower bound of the time from the first check's start to the last one's end.

    The report has no timestamps; no schedule of the checks on ``min(jobs, checks)``
    slots can be shorter than its longest check or than its total over the slots, so
    wall minus this bound is an upper bound of the time spent outside the checks
    (exact but for the checks' processes' own start with one job).
    """
    slots = max(1, min(jobs, figures["checks"]))
    return max(figures["longest"]["seconds"], figures["checks_s"] / slots)


def spread(values: list[float], digits: int = 2) -> str:
    """``median [min-max]`` of a sample, for a table cell."""
    return (
        f"{statistics.median(values):.{digits}f} "
        f"[{min(values):.{digits}f}-{max(values):.{digits}f}]"
    )
