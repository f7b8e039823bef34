"""Activation overhead: the harness's full check against a plain activation script.

On one MySQL server (a container of the local image), ``--rounds`` times, with
baseline and harness alternating which goes first so that drift hits both alike:

* **plain**: what a lab writes by hand, in this process. Fresh imports of
  ``element_lab.lab``, ``element_animal.subject``, ``element_session.session_with_datetime``
  (the package's ``session``) and ``element_event.trial``; a hand-written linking module
  with element-lab as the real upstream (Source, Lab, Protocol, User, Project from
  ``lab``, ``Experimenter = lab.User``, ``Subject``, ``Session`` and the two path
  functions); ``lab.activate``, ``subject.activate``, ``session.activate`` and
  ``trial.activate`` (which activates ``event``) in fresh schemas; then the schemas
  are dropped. Connecting is included.
* **harness**: ``run_checks`` of the four Element specs, limited to the same modules
  (each in its own namespace: registry, user and grants, discovery, plan, mock
  tables, activation, a second activation in fresh modules, catalog, manifest
  comparison, teardown).
* **harness, no reactivation**: the same with ``CheckOptions(reactivate=False)``,
  which prices the ``reactivation_idempotent`` check by difference.

The ratio harness / plain is the figure of merit (target: at most 1.15). The
per-step breakdown comes from the results' ``timings``. One untimed warm-up of
each kind comes first (DataJoint, numpy and pandas get imported once per process
by either). The server container is removed at the end, with every schema and
user on it; the plain script's schemas are dropped by the script itself.

    python bench/activation_overhead.py [--rounds 7] [--json PATH]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import secrets
import statistics
import sys
import tempfile
import time
import types
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness.activation import compat
from harness.activation.runner import CheckOptions
from harness.activation.scope import purge_modules
from harness.db.provider import provide_server
from harness.db.server import ServerInfo
from harness.elements.targets import Target, resolve_target
from harness.runinfo import RunIdentity
from harness.session import run_checks
from harness.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import STEPS, say, write_json
from common import machine as base_machine

IMAGE = "element-harness/mysql:9.7"
#: spec name -> the module the plain script activates (the harness is limited to it).
ELEMENTS: dict[str, str] = {
    "element-lab": "element_lab.lab",
    "element-animal": "element_animal.subject",
    "element-session": "element_session.session_with_datetime",
    "element-event": "element_event.trial",
}
PACKAGES = ("element_lab", "element_animal", "element_session", "element_event")


def plain_once(server: ServerInfo, data_root: str) -> dict[str, float]:
    """The hand-written activation and drop; seconds per phase and in total."""
    import datajoint as dj

    timings: dict[str, float] = {}
    prefix = f"plain_{secrets.token_hex(3)}"
    started, cpu_started = time.perf_counter(), time.process_time()
    purge_modules(PACKAGES)
    dj.config["database.host"] = server.host
    dj.config["database.port"] = server.port
    dj.config["database.user"] = server.admin_user
    dj.config["database.password"] = server.admin_password
    dj.config["database.use_tls"] = False
    dj.config["safemode"] = False
    connection = dj.conn(reset=True)
    timings["connect_s"] = time.perf_counter() - started

    mark = time.perf_counter()
    from element_animal import subject
    from element_event import trial
    from element_lab import lab
    from element_session import session_with_datetime as session

    timings["import_s"] = time.perf_counter() - mark
    linking = types.ModuleType("plain_linking")
    mark = time.perf_counter()
    lab.activate(f"{prefix}_lab")
    linking.__dict__.update(
        Source=lab.Source,
        Lab=lab.Lab,
        Protocol=lab.Protocol,
        User=lab.User,
        Project=lab.Project,
        Experimenter=lab.User,
    )
    subject.activate(f"{prefix}_subject", linking_module=linking)
    linking.Subject = subject.Subject
    session.activate(f"{prefix}_session", linking_module=linking)
    linking.Session = session.Session
    linking.get_experiment_root_data_dir = lambda: [data_root]
    linking.get_session_directory = lambda session_key: data_root
    trial.activate(f"{prefix}_trial", f"{prefix}_event", linking_module=linking)
    timings["activate_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    connection.query("SET SESSION foreign_key_checks = 0")
    for stem in ("trial", "event", "session", "subject", "lab"):
        connection.query(f"DROP DATABASE IF EXISTS `{prefix}_{stem}`")
    connection.query("SET SESSION foreign_key_checks = 1")
    timings["drop_s"] = time.perf_counter() - mark
    purge_modules(PACKAGES)
    timings["total_s"] = time.perf_counter() - started
    timings["cpu_s"] = time.process_time() - cpu_started
    return timings


def targets() -> list[Target]:
    """The four specs, each limited to the module the plain script activates."""
    return [
        dataclasses.replace(resolve_target(spec), modules=(module,))
        for spec, module in ELEMENTS.items()
    ]


def harness_once(
    server: ServerInfo, run: RunIdentity, chosen: list[Target], options: CheckOptions
) -> tuple[float, float, dict[str, float], list[str]]:
    """``run_checks`` of the four targets: wall and CPU seconds, step timings, failures.

    CPU time of this process (every thread) is the harness's and DataJoint's own work,
    which other sessions' load on the machine disturbs far less than wall time.
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    report = run_checks(chosen, server, run, options)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    steps: dict[str, float] = {}
    for result in report.results:
        for name, seconds in result.timings.items():
            steps[name] = steps.get(name, 0.0) + seconds
    failed = [
        f"{r.name}: {r.failure.render() if r.failure else r.status}"
        for r in report.results
        if r.status != "passed"
    ]
    return elapsed, cpu, steps, failed


@dataclasses.dataclass
class Samples:
    """Per-round figures, seconds."""

    plain: list[dict[str, float]] = dataclasses.field(default_factory=list)
    harness: list[float] = dataclasses.field(default_factory=list)
    harness_cpu: list[float] = dataclasses.field(default_factory=list)
    harness_steps: list[dict[str, float]] = dataclasses.field(default_factory=list)
    no_reactivation: list[float] = dataclasses.field(default_factory=list)

    def median_plain(self, key: str = "total_s") -> float:
        return statistics.median(round_[key] for round_ in self.plain)

    def median_step(self, key: str) -> float:
        return statistics.median(steps.get(key, 0.0) for steps in self.harness_steps)

    @property
    def ratio(self) -> float:
        return statistics.median(self.harness) / self.median_plain()

    @property
    def cpu_ratio(self) -> float:
        return statistics.median(self.harness_cpu) / self.median_plain("cpu_s")

    @property
    def ratio_no_reactivation(self) -> float:
        return statistics.median(self.no_reactivation) / self.median_plain()

    def to_dict(self) -> dict[str, Any]:
        def summary(values: list[float]) -> dict[str, Any]:
            return {
                "median": round(statistics.median(values), 4),
                "min": round(min(values), 4),
                "max": round(max(values), 4),
                "samples": [round(v, 4) for v in values],
            }

        return {
            "plain": {
                key: summary([r[key] for r in self.plain]) for key in self.plain[0] if self.plain
            },
            "harness": summary(self.harness),
            "harness_cpu": summary(self.harness_cpu),
            "harness_no_reactivation": summary(self.no_reactivation),
            "harness_steps_median": {key: round(self.median_step(key), 4) for key in STEPS},
            "ratio": round(self.ratio, 3),
            "cpu_ratio": round(self.cpu_ratio, 3),
            "ratio_no_reactivation": round(self.ratio_no_reactivation, 3),
        }


def run_benchmark(rounds: int, say: Callable[[str], None]) -> Samples:
    samples = Samples()
    chosen = targets()
    run = RunIdentity.new()
    settings = Settings(db="mysql", image=IMAGE)
    with (
        provide_server(settings, run) as server,
        tempfile.TemporaryDirectory(prefix="eh-bench-") as data_root,
    ):
        compat.datajoint()  # DataJoint's own import is paid once per process by either
        # The committed manifests hold every module of each Element; these checks are
        # limited to one module each, so the warm-up writes manifests of that subset
        # and the timed checks compare with them (the comparison is part of the cost).
        manifests = Path(data_root) / "manifests"
        full = CheckOptions(manifest_dir=manifests)
        lean = CheckOptions(manifest_dir=manifests, reactivate=False)
        say("warm-up")
        plain_once(server, data_root)
        harness_once(
            server, run, chosen, CheckOptions(manifest_dir=manifests, update_manifests=True)
        )
        failed = harness_once(server, run, chosen, full)[3]
        if failed:
            raise SystemExit("harness check failed: " + "; ".join(failed))
        for number in range(1, rounds + 1):
            # Alternate the order, as in bench/server_start.py.
            if number % 2:
                samples.plain.append(plain_once(server, data_root))
                wall, cpu, steps, _ = harness_once(server, run, chosen, full)
            else:
                wall, cpu, steps, _ = harness_once(server, run, chosen, full)
                samples.plain.append(plain_once(server, data_root))
            samples.harness.append(wall)
            samples.harness_cpu.append(cpu)
            samples.harness_steps.append(steps)
            samples.no_reactivation.append(harness_once(server, run, chosen, lean)[0])
            say(
                f"round {number}/{rounds}: plain {samples.plain[-1]['total_s']:.3f} s, "
                f"harness {wall:.3f} s, without reactivation {samples.no_reactivation[-1]:.3f} s "
                f"(load {os.getloadavg()[0]:.1f})"
            )
    return samples


def tables(samples: Samples) -> str:
    """Two Markdown tables: totals with the ratio, and the per-step breakdown."""

    def cell(values: list[float]) -> str:
        return f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"

    plain_totals = [r["total_s"] for r in samples.plain]
    plain_cpu = [r["cpu_s"] for r in samples.plain]
    lines = [
        "| run | wall s, median [min-max] | / plain | CPU s of this process | / plain |",
        "|---|---|---|---|---|",
        f"| plain script | {cell(plain_totals)} | 1.00 | {cell(plain_cpu)} | 1.00 |",
        f"| harness full check | {cell(samples.harness)} | {samples.ratio:.2f} | "
        f"{cell(samples.harness_cpu)} | {samples.cpu_ratio:.2f} |",
        f"| harness without reactivation | {cell(samples.no_reactivation)} | "
        f"{samples.ratio_no_reactivation:.2f} | - | - |",
        "",
        "| step | plain s | harness s (4 checks summed) |",
        "|---|---|---|",
    ]
    plain_of = {
        "namespace_s": "connect_s",
        "import_s": "import_s",
        "activate_s": "activate_s",
        "teardown_s": "drop_s",
    }
    for step in STEPS:
        plain = f"{samples.median_plain(plain_of[step]):.3f}" if step in plain_of else "-"
        lines.append(f"| {step.removesuffix('_s')} | {plain} | {samples.median_step(step):.3f} |")
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """What the figures were measured on (load average included: the machine is shared)."""
    return {**base_machine(), "load_average": [round(x, 2) for x in os.getloadavg()]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    samples = run_benchmark(args.rounds, say)
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", "bench/activation_overhead.py", *(argv or sys.argv[1:])]),
        "rounds": args.rounds,
        "datajoint": compat.version(),
        "image": IMAGE,
        "machine": {**machine(), "load_average_before": [round(x, 2) for x in load_before]},
        "results": samples.to_dict(),
    }
    print(tables(samples))
    print(
        f"ratio harness/plain: wall {samples.ratio:.2f} (target <= 1.15), "
        f"CPU {samples.cpu_ratio:.2f}; load average {os.getloadavg()[0]:.2f}"
    )
    write_json(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
