"""Whole processes on one server: ``harness check`` of four Elements against a plain script.

What a lab pays from the shell prompt, interpreter start and exit included, on one
MySQL server the benchmark starts (a container of ``element-harness/mysql:9.7``,
given to the harness as ``--external``, through ``HARNESS_EXTERNAL`` so that its
password is on no command line), each variant a fresh subprocess:

* **plain**: ``bench/whole_process_plain.py``, the activation script a lab writes
  by hand for the modules the harness activates (element-lab's ``lab`` and
  ``project``, element-animal's ``subject``, ``genotyping`` and ``surgery``,
  element-session's ``session_with_datetime`` and ``session_with_id``, element-event's
  ``trial`` and ``event``), element-lab the real upstream, the schemas dropped at the
  end; it prints its own phases' seconds;
* **harness**: ``harness check element-lab element-animal element-session
  element-event --no-install --no-data --json PATH`` at the default ``--jobs`` (the
  number of cores), and the same with ``--jobs 1``;
* **harness + data**: the default-jobs command without ``--no-data`` (the data round
  trip), reported as its own row;
* **floors**: ``python -c pass``, ``python -c "import datajoint"`` and
  ``python -c "import harness.cli"``.

Per variant: wall time around the subprocess, its user + system CPU (the children's
``getrusage`` delta) and the server container's CPU (its cgroup's usage delta). The
harness's breakdown sums each step over the report's checks; a check's own time is
the sum of its steps. The report has no timestamps, so the time "outside the checks"
is bounded from above: wall - (a lower bound of the checks' span, the longest check
or the checks' total over ``min(jobs, checks)`` slots, whichever is larger). It holds
the interpreter's start, imports, target resolution, connecting, forking and reading
each check's process, the report and exit; with ``--jobs 1`` it is exact. The data
round trip's price is the median of each round's difference between the two
default-jobs runs (same round, same load), in wall and in process + server CPU.

One untimed warm-up of every variant comes first (it also installs the Elements if
they are missing); then each round runs every variant, rotating which goes first.
The container is removed at the end, with everything on it.

    python bench/whole_process.py [--rounds 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import (  # noqa: E402  (bench/ is put on the path first)
    STEPS,
    calibration_s,
    checks_span_s,
    children_cpu_s,
    clean_environment,
    container_cpu_s,
    machine,
    report_figures,
    say,
    spread,
    write_json,
)

IMAGE = "element-harness/mysql:9.7"
SPECS: tuple[str, ...] = ("element-lab", "element-animal", "element-session", "element-event")
PLAIN_SCRIPT = HERE / "whole_process_plain.py"
HARNESS = Path(sys.executable).parent / "harness"
#: Every wait is bounded: one variant may take at most this long.
RUN_TIMEOUT = 300.0
#: The plain script's phases in order (its JSON line).
PLAIN_PHASES = ("import_datajoint_s", "connect_s", "import_elements_s", "activate_s", "drop_s")
DEFAULT_JOBS = os.cpu_count() or 1


@dataclass
class Sample:
    """One timed subprocess: seconds of wall, its CPU, the server's CPU, what it said."""

    wall_s: float
    cpu_s: float
    server_cpu_s: float | None
    #: The plain script's phases, or the harness report's figures (``report_figures``).
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Variant:
    """A command to time, and how to read what it leaves behind."""

    name: str
    label: str
    command: list[str]
    env: dict[str, str]
    #: Whether it is a ``harness check`` writing a JSON report.
    report: bool = False
    jobs: int = 1
    plain: bool = False


def timed(variant: Variant, container_id: str, workdir: Path) -> Sample:
    """Run ``variant`` once in a fresh process; fail loudly when it fails."""
    report = workdir / f"{variant.name}.json"
    report.unlink(missing_ok=True)
    command = [*variant.command, "--json", str(report)] if variant.report else variant.command
    env = dict(variant.env)
    if variant.plain:
        env["PLAIN_PREFIX"] = f"plain_{secrets.token_hex(3)}"
    server_before, cpu_before = container_cpu_s(container_id), children_cpu_s()
    started = time.perf_counter()
    done = subprocess.run(
        command,
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
    )
    wall = time.perf_counter() - started
    cpu = children_cpu_s() - cpu_before
    server_after = container_cpu_s(container_id)
    server = None if server_before is None or server_after is None else server_after - server_before
    if done.returncode != 0:
        # The output of a failed run could hold the server's address, never its
        # password: it is in no argument and the harness masks it in what it prints.
        raise SystemExit(f"{variant.label} exited {done.returncode}:\n{done.stderr[-3000:]}")
    detail: dict[str, Any] = {}
    if variant.plain:
        detail = json.loads(done.stdout.strip().splitlines()[-1])
    elif variant.report:
        detail = report_figures(json.loads(report.read_text(encoding="utf-8")))
        if detail["failed"] or detail["checks"] != len(SPECS):
            raise SystemExit(f"{variant.label}: checks not passed: {detail['failed']}")
    return Sample(wall, cpu, server, detail)


def variants(
    url: str, host: str, port: int, user: str, password: str, data_root: str
) -> list[Variant]:
    """Every variant, in their warm-up order (the first harness run may install)."""
    harness_env = clean_environment(HARNESS_EXTERNAL=url)
    plain_env = clean_environment(
        PLAIN_DB_HOST=host,
        PLAIN_DB_PORT=str(port),
        PLAIN_DB_USER=user,
        PLAIN_DB_PASSWORD=password,
        PLAIN_DATA_ROOT=data_root,
    )
    check = [str(HARNESS), "check", *SPECS, "--no-install", "-q"]
    python = sys.executable
    return [
        Variant("python", "python -c pass", [python, "-c", "pass"], clean_environment()),
        Variant("import_datajoint", "python -c 'import datajoint'",
                [python, "-c", "import datajoint"], clean_environment()),
        Variant("import_harness_cli", "python -c 'import harness.cli'",
                [python, "-c", "import harness.cli"], clean_environment()),
        Variant("plain", "plain script", [python, str(PLAIN_SCRIPT)], plain_env, plain=True),
        Variant("harness", f"harness check --no-data (--jobs {DEFAULT_JOBS}, default)",
                [*check, "--no-data"], harness_env, report=True, jobs=DEFAULT_JOBS),
        Variant("harness_jobs1", "harness check --no-data --jobs 1",
                [*check, "--no-data", "--jobs", "1"], harness_env, report=True),
        Variant("harness_data", f"harness check, with data (--jobs {DEFAULT_JOBS}, default)",
                check, harness_env, report=True, jobs=DEFAULT_JOBS),
    ]  # fmt: skip


def harness_env(chosen: list[Variant]) -> dict[str, str]:
    """The environment the harness variants run in (it names the external server)."""
    return next(variant.env for variant in chosen if variant.report)


def install_missing(env: dict[str, str], workdir: Path) -> None:
    """Let the harness pip-install the specs' Elements if they are missing (untimed)."""
    done = subprocess.run(
        [str(HARNESS), "check", *SPECS, "--no-data", "-q"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT * 2,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"harness check (installing) exited {done.returncode}:\n{done.stderr}")


def leftover_schemas(host: str, port: int, user: str, password: str) -> list[str]:
    """Schemas the plain script left behind (it must drop every one it made)."""
    import pymysql

    connection = pymysql.connect(
        host=host, port=port, user=user, password=password, ssl_disabled=True
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW DATABASES LIKE 'plain\\_%'")
            return [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()


def idle_server_cpu_per_s(container_id: str, seconds: float = 2.0) -> float | None:
    """The server's CPU seconds per second when nobody talks to it (its background)."""
    before = container_cpu_s(container_id)
    time.sleep(seconds)
    after = container_cpu_s(container_id)
    return None if before is None or after is None else (after - before) / seconds


def run_benchmark(rounds: int, say: Callable[[str], None]) -> dict[str, Any]:
    from harness.db.provider import provide_server
    from harness.runinfo import RunIdentity
    from harness.settings import Settings

    samples: dict[str, list[Sample]] = {}
    with (
        provide_server(Settings(db="mysql", image=IMAGE), RunIdentity.new()) as server,
        tempfile.TemporaryDirectory(prefix="eh-whole-") as temp,
    ):
        if server.container_id is None:
            raise SystemExit("the server has no container id: its CPU cannot be read")
        workdir = Path(temp)
        data_root = workdir / "data"
        data_root.mkdir()
        address = (server.host, server.port, server.admin_user, server.admin_password)
        chosen = variants(server.url(reveal_password=True), *address, str(data_root))
        say(f"server: mysql {server.version}; warm-up (installs the Elements if missing)")
        install_missing(harness_env(chosen), workdir)
        for variant in chosen:
            timed(variant, server.container_id, workdir)
        left = leftover_schemas(*address)
        if left:
            raise SystemExit(f"the plain script left schemas behind: {left}")
        idle = idle_server_cpu_per_s(server.container_id)
        samples = {variant.name: [] for variant in chosen}
        for number in range(rounds):
            shift = number % len(chosen)
            for variant in chosen[shift:] + chosen[:shift]:
                samples[variant.name].append(timed(variant, server.container_id, workdir))
            say(
                f"round {number + 1}/{rounds}: "
                + ", ".join(f"{name} {runs[-1].wall_s:.2f} s" for name, runs in samples.items())
                + f" (load {os.getloadavg()[0]:.1f})"
            )
        version = server.version
    return {
        "variants": chosen,
        "samples": samples,
        "idle_server_cpu_per_s": idle,
        "server": version,
    }


def median(values: list[float]) -> float:
    return statistics.median(values)


def outside_checks_s(sample: Sample, jobs: int) -> tuple[float, float]:
    """A lower bound of the checks' span, and wall minus it (see the module's docstring)."""
    span = checks_span_s(sample.detail, jobs)
    return span, sample.wall_s - span


def tables(result: dict[str, Any]) -> str:
    """Markdown: the totals against plain, the plain script's phases, the harness's steps."""
    samples: dict[str, list[Sample]] = result["samples"]
    chosen: list[Variant] = result["variants"]
    plain = samples["plain"]
    plain_wall = median([s.wall_s for s in plain])
    plain_cpu = median([s.cpu_s for s in plain])
    plain_server = [s.server_cpu_s for s in plain if s.server_cpu_s is not None]
    lines = [
        "| process | wall s, median [min-max] | / plain | CPU s (user+sys) | / plain "
        "| server CPU s | / plain |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant in chosen:
        runs = samples[variant.name]
        wall = [s.wall_s for s in runs]
        cpu = [s.cpu_s for s in runs]
        server = [s.server_cpu_s for s in runs if s.server_cpu_s is not None]
        server_cells = (
            f"{spread(server)} | {median(server) / median(plain_server):.2f}"
            if server and plain_server
            else "- | -"
        )
        lines.append(
            f"| {variant.label} | {spread(wall)} | {median(wall) / plain_wall:.2f} | "
            f"{spread(cpu)} | {median(cpu) / plain_cpu:.2f} | {server_cells} |"
        )
    lines += ["", "| plain script phase | s, median |", "|---|---|"]
    start = [s.wall_s - s.detail["total_s"] for s in plain]
    lines.append(f"| interpreter start and exit (wall - total_s) | {median(start):.3f} |")
    for phase in PLAIN_PHASES:
        lines.append(
            f"| {phase.removesuffix('_s')} | {median([s.detail[phase] for s in plain]):.3f} |"
        )
    lines.append(f"| **wall** | {plain_wall:.3f} |")

    harness = [v for v in chosen if v.report]
    lines += [
        "",
        "| harness step (summed over the 4 checks), s median | "
        + " | ".join(v.label for v in harness)
        + " |",
        "|---|" + "---|" * len(harness),
    ]

    def row(name: str, value: Callable[[Sample, Variant], float], digits: int = 3) -> str:
        cells = [f"{median([value(s, v) for s in samples[v.name]]):.{digits}f}" for v in harness]
        return f"| {name} | " + " | ".join(cells) + " |"

    for step in STEPS:
        lines.append(row(step.removesuffix("_s"), lambda s, v, step=step: s.detail["steps"][step]))
    lines.append(row("**all checks' steps**", lambda s, v: s.detail["checks_s"]))
    longest = {s.detail["longest"]["name"] for v in harness for s in samples[v.name]}
    lines.append(
        row(
            f"longest check ({', '.join(sorted(longest))})",
            lambda s, v: s.detail["longest"]["seconds"],
        )
    )
    lines.append(row("checks' span, at least", lambda s, v: outside_checks_s(s, v.jobs)[0]))
    lines.append(row("outside the checks, at most", lambda s, v: outside_checks_s(s, v.jobs)[1]))
    floor = median([s.wall_s for s in samples["import_datajoint"]])
    lines.append(
        row(
            "outside the checks beyond `import datajoint`'s process",
            lambda s, v: outside_checks_s(s, v.jobs)[1] - floor,
        )
    )
    lines.append(row("**wall**", lambda s, v: s.wall_s))
    return "\n".join(lines)


def ratios(result: dict[str, Any]) -> dict[str, float]:
    """The figures of merit, medians of wall time over plain's."""
    samples: dict[str, list[Sample]] = result["samples"]
    walls = {name: median([s.wall_s for s in runs]) for name, runs in samples.items()}
    plain = walls["plain"]
    pairs = list(zip(samples["harness_data"], samples["harness"], strict=True))
    # The round trip's price is the median of each round's difference (the two ran in
    # the same round, under the same load), not the difference of the medians.
    extra = median([data.wall_s - bare.wall_s for data, bare in pairs])
    extra_cpu = median(
        [
            data.cpu_s + (data.server_cpu_s or 0.0) - bare.cpu_s - (bare.server_cpu_s or 0.0)
            for data, bare in pairs
        ]
    )
    return {
        "harness_over_plain": walls["harness"] / plain,
        "jobs1_over_plain": walls["harness_jobs1"] / plain,
        "data_over_plain": walls["harness_data"] / plain,
        "data_extra_s": extra,
        "data_extra_over_plain": extra / plain,
        "data_extra_cpu_s": extra_cpu,
    }


def to_dict(result: dict[str, Any]) -> dict[str, Any]:
    def summary(runs: list[Sample]) -> dict[str, Any]:
        wall = [s.wall_s for s in runs]
        return {
            "wall_median": round(median(wall), 4),
            "samples": [
                {
                    "wall_s": round(s.wall_s, 4),
                    "cpu_s": round(s.cpu_s, 4),
                    "server_cpu_s": None if s.server_cpu_s is None else round(s.server_cpu_s, 4),
                    "detail": s.detail,
                }
                for s in runs
            ],
        }

    return {
        "variants": {
            v.name: {"label": v.label, "jobs": v.jobs, **summary(result["samples"][v.name])}
            for v in result["variants"]
        },
        "idle_server_cpu_per_s": result["idle_server_cpu_per_s"],
        "ratios": {key: round(value, 3) for key, value in ratios(result).items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds of every variant")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    import datajoint

    load_before = os.getloadavg()
    calibration = calibration_s()
    result = run_benchmark(args.rounds, say)
    figures = ratios(result)
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", "bench/whole_process.py", *(argv or sys.argv[1:])]),
        "rounds": args.rounds,
        "datajoint": datajoint.__version__,
        "image": IMAGE,
        "server": result["server"],
        "default_jobs": DEFAULT_JOBS,
        "calibration_10M_additions_s": round(calibration, 4),
        "machine": {
            **machine(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "results": to_dict(result),
    }
    idle = result["idle_server_cpu_per_s"]
    print(
        f"DataJoint {datajoint.__version__} · mysql {result['server']} ({IMAGE}) · "
        f"median of {args.rounds} round(s) · {DEFAULT_JOBS} cores\n"
    )
    print(tables(result))
    print(
        f"\nratio harness/plain (--jobs {DEFAULT_JOBS}, no data): "
        f"{figures['harness_over_plain']:.2f}; --jobs 1/plain: {figures['jobs1_over_plain']:.2f}; "
        f"with the data round trip/plain: {figures['data_over_plain']:.2f} "
        f"(the round trip adds {figures['data_extra_s']:.2f} s of wall, median of the rounds' "
        f"differences, {figures['data_extra_over_plain']:.2f} of plain; "
        f"{figures['data_extra_cpu_s']:.2f} s of process + server CPU)"
    )
    print(
        f"calibration: 10M pure-Python additions in {calibration:.3f} s (best of 3); "
        "server idle CPU "
        + ("n/a" if idle is None else f"{idle:.3f} s/s")
        + f"; load average {os.getloadavg()[0]:.2f}"
    )
    write_json(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
