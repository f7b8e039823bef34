"""Verification at scale: synthetic Elements of 10, 100, 500 and 1000 tables.

Each size is a generated package in a temporary directory, shaped like an Element:
modules of at most 100 tables, each with a deferred ``schema = dj.Schema()`` and an
``activate(schema_name, *, create_schema=True, create_tables=True)``. A module is
made of blocks of 10 tables with foreign keys inside the block and to the previous
block (Lookup with contents, Manual, Manual, Computed with a Part, Imported with a
Part, Manual with a ``.proj`` renamed reference, Computed with two parents, Lookup
with a nullable reference), so the catalog holds keys, parts, renames and nullable
foreign keys in proportion at every size.

The harness checks each package on one MariaDB server (local image: its DDL is
faster than MySQL's, so activation, the denominator, is the smallest honest one).
Reported per size, median of ``--rounds``: activation (``activate_s``), catalog and
verification (``catalog_s + verify_s``: reading the server's catalog, ``declared_all``,
the manifest comparison), the reactivation check, teardown, and peak memory: the
Python heap's peak during one check (``tracemalloc``, an untimed run) and the
process's maximum RSS so far. Targets: catalog + verify at most 10% of activation
at every size, and linear growth (the ratios between sizes, per table, near 1).

The first, untimed run of each size writes its manifest into the temporary
directory, so the timed runs compare with a manifest like a real check does. The
server container is removed at the end, with every schema and user on it.

    python bench/verify_scale.py [--sizes 10 100 500 1000] [--rounds 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness.activation.namespace import new_prefix
from harness.activation.runner import CheckOptions, ElementCheck
from harness.db.provider import provide_server
from harness.db.server import ServerInfo
from harness.elements.targets import resolve_target
from harness.results import Status
from harness.runinfo import RunIdentity
from harness.settings import Settings

IMAGE = "element-harness/mariadb:10.11"
TABLES_PER_BLOCK = 10
BLOCKS_PER_MODULE = 10
GROWTH_KEYS = ("activate_s", "reactivate_s", "teardown_s")
#: Generous: DataJoint declares 100 tables per module well within this on 2 cores.
ACTIVATE_TIMEOUT = 600.0

MODULE_HEAD = '''"""Synthetic module {index} of {package} (element-harness benchmark)."""

import datajoint as dj

schema = dj.Schema()


def activate(schema_name, *, create_schema=True, create_tables=True):
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)
'''

BLOCK = '''

@schema
class Kind{b}(dj.Lookup):
    definition = """
    kind{b}: varchar(16)
    ---
    kind{b}_description = '': varchar(255)
    """
    contents = [("a", "first"), ("b", "second")]


@schema
class Subject{b}(dj.Manual):
    definition = """
    subject{b}: int
    ---
    -> Kind{b}
    born{b} = null: date
    note{b} = '': varchar(255)
    """


@schema
class Session{b}(dj.Manual):
    definition = """
    -> Subject{b}
    session{b}: smallint
    ---
    started{b}: datetime
    """


@schema
class Result{b}(dj.Computed):
    definition = """
    -> Session{b}
    ---
    value{b}: double
    """

    class Item(dj.Part):
        definition = """
        -> master
        item{b}: int
        ---
        x{b}: float
        """

    def make(self, key):
        pass


@schema
class Recording{b}(dj.Imported):
    definition = """
    -> Session{b}
    ---
    size{b}: bigint unsigned
    """

    class File(dj.Part):
        definition = """
        -> master
        file{b}: varchar(64)
        """

    def make(self, key):
        pass


@schema
class Pairing{b}(dj.Manual):
    definition = """
    -> Session{b}
    -> Kind{b}.proj(other{b}='kind{b}')
    ---
    weight{b} = 1.0: float
    """


@schema
class Score{b}(dj.Computed):
    definition = """
    -> Result{b}
    -> Pairing{b}
    ---
    score{b}: double
    """

    def make(self, key):
        pass


@schema
class Link{b}(dj.Lookup):
    definition = """
    link{b}: smallint
    ---
    -> [nullable] Kind{b}
    {previous}
    """
'''


def generate(root: Path, tables: int, package: str = "") -> Path:
    """Write package ``package`` (``synth_<tables>``) under ``root``; return its directory."""
    if tables % TABLES_PER_BLOCK:
        raise ValueError(f"size must be a multiple of {TABLES_PER_BLOCK}")
    package = package or f"synth_{tables}"
    directory = root / package
    directory.mkdir(parents=True)
    (directory / "__init__.py").write_text(f'"""{tables} synthetic tables."""\n')
    blocks = tables // TABLES_PER_BLOCK
    for index, first in enumerate(range(0, blocks, BLOCKS_PER_MODULE)):
        text = MODULE_HEAD.format(index=index, package=package)
        for b in range(first, min(first + BLOCKS_PER_MODULE, blocks)):
            # A nullable reference to the previous block chains the blocks of a module.
            previous = f"-> [nullable] Subject{b - 1}" if b > first else ""
            text += BLOCK.format(b=b, previous=previous)
        (directory / f"schema{index:02d}.py").write_text(text)
    return directory


@dataclass
class SizeResult:
    """Per-round step timings of one size, seconds; memory in MiB."""

    tables: int
    rounds: list[dict[str, float]] = field(default_factory=list)
    heap_peak_mib: float = 0.0
    max_rss_mib: float = 0.0
    declared: int = 0

    def median(self, *keys: str) -> float:
        return statistics.median(sum(r.get(k, 0.0) for k in keys) for r in self.rounds)

    @property
    def activation(self) -> float:
        return self.median("activate_s")

    @property
    def verification(self) -> float:
        return self.median("catalog_s", "verify_s")

    def to_dict(self) -> dict[str, Any]:
        keys = sorted({key for r in self.rounds for key in r})
        return {
            "tables": self.tables,
            "declared": self.declared,
            "median_s": {key: round(self.median(key), 4) for key in keys},
            "verify_over_activation": round(self.verification / self.activation, 4),
            "heap_peak_mib": round(self.heap_peak_mib, 1),
            "max_rss_mib": round(self.max_rss_mib, 1),
            "rounds": [{k: round(v, 4) for k, v in r.items()} for r in self.rounds],
        }


def check_once(
    server: ServerInfo, run: RunIdentity, package_dir: Path, options: CheckOptions
) -> tuple[dict[str, float], int]:
    """One full harness check; its step timings (plus wall) and the number of tables."""
    target = resolve_target(str(package_dir))
    started = time.perf_counter()
    result = ElementCheck(target, server, new_prefix(run.run_id), options).run()
    wall = time.perf_counter() - started
    if result.status != Status.PASSED:
        failed = [f"{c.name}: {c.detail[:500]}" for c in result.checks if c.status == "failed"]
        detail = result.failure.render() if result.failure else "; ".join(failed)
        raise RuntimeError(f"check of {package_dir.name} failed: {detail}")
    return {**result.timings, "wall_s": wall}, len(result.tables)


def run_size(
    server: ServerInfo, run: RunIdentity, root: Path, tables: int, rounds: int
) -> SizeResult:
    package_dir = generate(root / "packages", tables)
    manifests = root / "manifests"
    result = SizeResult(tables)
    writing = CheckOptions(timeout=ACTIVATE_TIMEOUT, manifest_dir=manifests, update_manifests=True)
    tracemalloc.start()
    check_once(server, run, package_dir, writing)  # untimed: writes the manifest
    result.heap_peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    options = CheckOptions(timeout=ACTIVATE_TIMEOUT, manifest_dir=manifests)
    for _ in range(rounds):
        timings, result.declared = check_once(server, run, package_dir, options)
        result.rounds.append(timings)
    result.max_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def run_benchmark(sizes: list[int], rounds: int, say: Callable[[str], None]) -> list[SizeResult]:
    results = []
    run = RunIdentity.new()
    with (
        provide_server(Settings(db="mariadb", image=IMAGE), run) as server,
        tempfile.TemporaryDirectory(prefix="eh-scale-") as temp,
    ):
        # What the first check of a process imports lazily (DataJoint's declaration and
        # catalog code, the harness's modules) is not the heap a check needs.
        warm_up = generate(Path(temp) / "warm-up", TABLES_PER_BLOCK, "synth_warm_up")
        check_once(server, run, warm_up, CheckOptions(manifest_dir=Path(temp) / "manifests"))
        for tables in sizes:
            say(f"{tables} tables: {rounds} round(s) after one untimed run")
            result = run_size(server, run, Path(temp), tables, rounds)
            say(
                f"{tables} tables: activate {result.activation:.2f} s, catalog+verify "
                f"{result.verification:.3f} s, teardown {result.median('teardown_s'):.2f} s"
            )
            results.append(result)
    return results


def tables_md(results: list[SizeResult]) -> str:
    """The per-size table and the growth table (time ratio over size ratio)."""
    lines = [
        "| tables | activate s | catalog+verify s | verify / activate | reactivate s "
        "| teardown s | check wall s | heap peak MiB | max RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.tables} | {r.activation:.2f} | {r.verification:.3f} | "
            f"{r.verification / r.activation:.1%} | {r.median('reactivate_s'):.2f} | "
            f"{r.median('teardown_s'):.2f} | {r.median('wall_s'):.2f} | "
            f"{r.heap_peak_mib:.1f} | {r.max_rss_mib:.0f} |"
        )
    lines += [
        "",
        "Growth between sizes: (time ratio) / (size ratio); 1.00 is linear.",
        "",
        "| from -> to | activate | catalog+verify | reactivate | teardown | heap peak |",
        "|---|---|---|---|---|---|",
    ]
    for small, large in itertools.pairwise(results):
        scale = large.tables / small.tables
        growth = [large.median(key) / small.median(key) / scale for key in GROWTH_KEYS]
        verify = large.verification / small.verification / scale
        heap = large.heap_peak_mib / small.heap_peak_mib / scale
        activate, reactivate, teardown = (f"{g:.2f}" for g in growth)
        lines.append(
            f"| {small.tables} -> {large.tables} | {activate} | {verify:.2f} | "
            f"{reactivate} | {teardown} | {heap:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 500, 1000])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per size")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import machine, say, write_json

    load_before = os.getloadavg()
    results = run_benchmark(sorted(args.sizes), args.rounds, say)
    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", "bench/verify_scale.py", *(argv or sys.argv[1:])]),
        "rounds": args.rounds,
        "image": IMAGE,
        "machine": {
            **machine(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "results": [r.to_dict() for r in results],
    }
    print(tables_md(results))
    write_json(report, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
