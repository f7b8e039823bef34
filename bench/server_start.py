"""Server start-up time: the harness against a plain ``docker run`` and a polling loop.

For each local image, ``--rounds`` times, interleaved (baseline and cold in
alternating order) so that drift of the machine hits all three alike:

* **baseline**: ``docker run -d --tmpfs DATADIR -p 127.0.0.1::PORT -e PASSWORD``
  through the docker CLI, then a loop that connects with the driver and runs
  ``SELECT 1`` every 50 ms, until the first success. This is what a careful
  user would write by hand; the harness should cost no more than that.
* **cold**: ``provide_server`` with a fresh container (sweep, image lookup,
  labels, readiness included), until it yields.
* **reused**: ``provide_server`` with ``reuse`` on, when the reusable container
  already exists (the first acquisition is not timed).

Removal is not timed for any of them. One untimed warm-up of baseline and cold
per image comes first, so that image layers are in the page cache for both.
Everything started here is removed at the end, reusable containers included
(those that existed before the benchmark are left alone).

    python bench/server_start.py [--rounds 5] [--json PATH] [--images IMAGE ...]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from harness.db.backends import get_backend
from harness.db.provider import provide_server
from harness.engine import docker_client
from harness.runinfo import LABEL_REUSE, RunIdentity
from harness.settings import Settings

#: (backend, image) of every local image the project builds.
IMAGES: tuple[tuple[str, str], ...] = (
    ("mysql", "element-harness/mysql:9.7"),
    ("mariadb", "element-harness/mariadb:10.11"),
    ("mariadb", "element-harness/mariadb:11.8"),
    ("postgresql", "element-harness/postgres:15"),
)
#: Label of the baseline containers, so that the final clean-up finds every one.
BENCH_LABEL = "element-harness.bench"
POLL_INTERVAL = 0.05


def _sql_once(backend: str, port: int, password: str) -> None:
    """Connect as admin and run ``SELECT 1`` with the driver itself (no harness code)."""
    if backend == "postgresql":
        import psycopg2

        connection = psycopg2.connect(
            host="127.0.0.1",
            port=port,
            user="postgres",
            password=password,
            dbname="postgres",
            connect_timeout=5,
        )
    else:
        import pymysql

        connection = pymysql.connect(
            host="127.0.0.1", port=port, user="root", password=password, connect_timeout=5
        )
    try:
        cursor = connection.cursor()
        cursor.execute("SELECT 1")
        cursor.fetchone()
    finally:
        connection.close()


def _driver_errors(backend: str) -> tuple[type[BaseException], ...]:
    if backend == "postgresql":
        import psycopg2

        return (psycopg2.Error, OSError)
    import pymysql

    return (pymysql.err.MySQLError, OSError)


def _docker(*args: str) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def baseline_once(backend_name: str, image: str, timeout: float) -> float:
    """Plain ``docker run`` plus a polling loop; seconds to the first successful query."""
    backend = get_backend(backend_name)
    password = secrets.token_hex(12)
    env_args = [
        arg for k, v in backend.container_env(password).items() for arg in ("-e", f"{k}={v}")
    ]
    errors = _driver_errors(backend_name)
    started = time.perf_counter()
    container = _docker(
        "run", "-d", "--label", f"{BENCH_LABEL}=1", "--tmpfs", backend.data_dir,
        "-p", f"127.0.0.1::{backend.port}", *env_args, image,
    )  # fmt: skip
    try:
        port = int(
            _docker("port", container, f"{backend.port}/tcp").splitlines()[0].rsplit(":")[-1]
        )
        while True:
            try:
                _sql_once(backend_name, port, password)
                return time.perf_counter() - started
            except errors:
                if time.perf_counter() - started > timeout:
                    raise
                time.sleep(POLL_INTERVAL)
    finally:
        subprocess.run(["docker", "rm", "-f", "-v", container], capture_output=True, check=False)


def cold_once(backend: str, image: str, timeout: float) -> float:
    """``provide_server`` with a fresh container; seconds until it yields."""
    settings = Settings(db=backend, image=image, startup_timeout=timeout)
    started = time.perf_counter()
    with provide_server(settings, RunIdentity.new()):
        return time.perf_counter() - started


def reused_once(backend: str, image: str, timeout: float) -> tuple[float, str]:
    """``provide_server`` with reuse on; seconds until it yields, and the container id."""
    settings = Settings(db=backend, image=image, reuse=True, startup_timeout=timeout)
    started = time.perf_counter()
    with provide_server(settings, RunIdentity.new()) as server:
        elapsed = time.perf_counter() - started
    return elapsed, server.container_id or ""


@dataclass
class Result:
    """Timings of one image, seconds."""

    backend: str
    image: str
    baseline: list[float] = field(default_factory=list)
    cold: list[float] = field(default_factory=list)
    reused: list[float] = field(default_factory=list)

    @staticmethod
    def summary(samples: list[float]) -> dict[str, Any]:
        return {
            "median": statistics.median(samples),
            "min": min(samples),
            "max": max(samples),
            "samples": [round(s, 4) for s in samples],
        }

    @property
    def cold_ratio(self) -> float:
        return statistics.median(self.cold) / statistics.median(self.baseline)

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "image": self.image,
            "baseline": self.summary(self.baseline),
            "cold": self.summary(self.cold),
            "reused": self.summary(self.reused),
            "cold_ratio": round(self.cold_ratio, 3),
        }


def run_benchmark(
    images: list[tuple[str, str]], rounds: int, timeout: float, say: Callable[[str], None]
) -> list[Result]:
    results = []
    for backend, image in images:
        docker_client().images.get(image)  # fail now, not mid-run, when an image is missing
        result = Result(backend, image)
        say(f"{image}: warm-up")
        baseline_once(backend, image, timeout)
        cold_once(backend, image, timeout)
        reused_once(backend, image, timeout)  # creates the reusable container
        for number in range(1, rounds + 1):
            # Alternate which goes first: a start right after a removal is slower
            # (the engine and kernel are still tearing the last container down).
            if number % 2:
                result.baseline.append(baseline_once(backend, image, timeout))
                result.cold.append(cold_once(backend, image, timeout))
            else:
                result.cold.append(cold_once(backend, image, timeout))
                result.baseline.append(baseline_once(backend, image, timeout))
            result.reused.append(reused_once(backend, image, timeout)[0])
            say(
                f"{image}: round {number}/{rounds}: baseline {result.baseline[-1]:.3f} s, "
                f"cold {result.cold[-1]:.3f} s, reused {result.reused[-1]:.3f} s"
            )
        results.append(result)
    return results


def table(results: list[Result]) -> str:
    """A Markdown table: medians with [min-max], ratio cold/baseline."""
    header = (
        "| image | baseline s | harness cold s | cold / baseline | harness reused s |\n"
        "|---|---|---|---|---|"
    )

    def cell(samples: list[float]) -> str:
        return f"{statistics.median(samples):.2f} [{min(samples):.2f}-{max(samples):.2f}]"

    rows = [
        f"| {r.image} | {cell(r.baseline)} | {cell(r.cold)} | {r.cold_ratio:.2f} | "
        f"{statistics.median(r.reused):.3f} [{min(r.reused):.3f}-{max(r.reused):.3f}] |"
        for r in results
    ]
    return "\n".join([header, *rows])


def _ids(label: str) -> set[str]:
    """Ids of the containers with ``label`` (the list call alone: nothing to race)."""
    return {c["Id"] for c in docker_client().api.containers(all=True, filters={"label": label})}


def clean_up(reusable_before: set[str]) -> None:
    """Remove baseline containers and the reusable containers this benchmark created."""
    from docker.errors import NotFound

    for container_id in _ids(BENCH_LABEL) | (_ids(LABEL_REUSE) - reusable_before):
        with suppress(NotFound):
            docker_client().api.remove_container(container_id, force=True, v=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per image")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--timeout", type=float, default=120.0, help="readiness deadline, s")
    parser.add_argument(
        "--images", nargs="+", metavar="IMAGE", help="subset of: " + " ".join(i for _, i in IMAGES)
    )
    args = parser.parse_args(argv)
    chosen = [(b, i) for b, i in IMAGES if not args.images or i in args.images]
    if not chosen:
        parser.error("no known image selected")
    from common import machine, say, write_json

    reusable_before = _ids(LABEL_REUSE)
    try:
        results = run_benchmark(chosen, args.rounds, args.timeout, say)
    finally:
        clean_up(reusable_before)
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", "bench/server_start.py", *(argv or sys.argv[1:])]),
        "rounds": args.rounds,
        "machine": machine(),
        "results": [r.to_dict() for r in results],
    }
    print(table(results))
    write_json(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
