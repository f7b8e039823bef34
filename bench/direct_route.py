"""Query round trips through the published port against the container's direct address.

One MySQL container from the harness's own image; ``--rounds`` times, alternating
which goes first, ``--queries`` ``SELECT 1`` on one connection each way:

* **published** (the baseline): 127.0.0.1 and the published port, through the
  engine's ``docker-proxy``;
* **direct**: the container's address on the bridge (``ServerInfo.address()``),
  which the harness's own connections use when it can verify the route.

For each: wall and client CPU per query, and the CPU the ``docker-proxy`` processes
spent meanwhile (read from ``/proc``; none for the direct route if it is really
skipped). The whole checks' difference is measured by ``bench/elements_e2e.py``.

    python bench/direct_route.py [--rounds 5] [--queries 3000] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import machine, say, write_json

IMAGE = "element-harness/mysql:9.7"
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


def proxy_cpu_s() -> float:
    """CPU seconds (user + system) of every ``docker-proxy`` process so far."""
    found = subprocess.run(["pgrep", "-x", "docker-proxy"], capture_output=True, text=True)
    total = 0.0
    for pid in found.stdout.split():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICK
    return total


def timed(connect: Any, route: str, queries: int) -> dict[str, float]:
    connection = connect(route)
    try:
        cursor = connection.cursor()
        proxy_before, cpu_before = proxy_cpu_s(), time.process_time()
        started = time.perf_counter()
        for _ in range(queries):
            cursor.execute("SELECT 1")
            cursor.fetchall()
        wall = time.perf_counter() - started
        cpu, proxy = time.process_time() - cpu_before, proxy_cpu_s() - proxy_before
    finally:
        connection.close()
    return {"wall_us": wall / queries * 1e6, "cpu_us": cpu / queries * 1e6, "proxy_s": proxy}


def run_benchmark(rounds: int, queries: int) -> dict[str, Any]:
    from harness.db.backends import get_backend
    from harness.db.provider import provide_server
    from harness.runinfo import RunIdentity
    from harness.settings import Settings

    samples: dict[str, list[dict[str, float]]] = {"published": [], "direct": []}
    with provide_server(Settings(db="mysql", image=IMAGE), RunIdentity.new()) as server:
        if server.direct_host is None:
            raise SystemExit("no direct route to the container here: nothing to compare")
        backend = get_backend(server.backend)
        routes = {"published": (server.host, server.port), "direct": server.address()}

        def connect(route: str) -> Any:
            host, port = routes[route]
            return backend.connect(host, port, server.admin_user, server.admin_password)

        for route in routes:  # warm-up: connections, caches
            timed(connect, route, queries // 10)
        for number in range(rounds):
            order = list(routes) if number % 2 == 0 else list(reversed(routes))
            for route in order:
                samples[route].append(timed(connect, route, queries))
            say(
                f"round {number + 1}/{rounds}: "
                + ", ".join(f"{r} {samples[r][-1]['wall_us']:.0f} us/query" for r in order)
            )
    return {"samples": samples, "queries": queries, "rounds": rounds}


def table(result: dict[str, Any]) -> str:
    median = {
        route: {key: statistics.median(s[key] for s in runs) for key in runs[0]}
        for route, runs in result["samples"].items()
    }
    base = median["published"]
    lines = [
        "| route | wall us/query | / published | client CPU us/query | / published "
        "| docker-proxy CPU s per round |",
        "|---|---|---|---|---|---|",
    ]
    for route, values in median.items():
        lines.append(
            f"| {route} | {values['wall_us']:.0f} | {values['wall_us'] / base['wall_us']:.2f} "
            f"| {values['cpu_us']:.0f} | {values['cpu_us'] / base['cpu_us']:.2f} "
            f"| {values['proxy_s']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=3000)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    result = run_benchmark(args.rounds, args.queries)
    print(f"median of {args.rounds} round(s) of {args.queries} queries, {IMAGE}")
    print(table(result))
    write_json({"machine": machine(), **result}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
