"""``harness matrix``: the command line of the compatibility matrix.

Three modes: run a matrix (default), print the GitHub Actions matrix
(``--github-matrix``, the reusable workflow's single source of truth), or
aggregate reports a CI fan-out produced (``--aggregate DIR``). Exit status as
for ``harness check``: 0 every cell passed, 1 a cell failed, 2 usage or
environment error.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
from pathlib import Path
from typing import Any

from harness.errors import ConfigurationError

DEFAULT_DATAJOINT = "0.14.10,2.3.5"
DEFAULT_DBS = "mysql,mariadb,postgresql"


def add_matrix_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``matrix`` to the ``harness`` subcommands."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "matrix",
        help="check Elements across DataJoint versions and database servers",
        description="Check each ELEMENT in one isolated environment per DataJoint version, on "
        "each server that version supports (PostgreSQL needs DataJoint 2.x); results are cached "
        "by their inputs, so a rerun only checks what changed. See docs/matrix.md.",
    )
    parser.add_argument("elements", nargs="*", metavar="ELEMENT", help="as for harness check")
    parser.add_argument("--datajoint", metavar="VERSIONS", help=f"default {DEFAULT_DATAJOINT}")
    parser.add_argument("--db", metavar="SERVERS", help=f"default {DEFAULT_DBS}")
    parser.add_argument(
        "--python-versions",
        metavar="VERSIONS",
        help="Python versions for --github-matrix (default: this interpreter's X.Y)",
    )
    parser.add_argument("--jobs", type=int, default=2, help="combinations at once (default 2)")
    parser.add_argument("--markdown", metavar="PATH", help="write the table as Markdown")
    parser.add_argument("--html", metavar="PATH", help="write the table as an HTML page")
    parser.add_argument("--json", metavar="PATH", help="write every cell with its provenance")
    parser.add_argument("--lock", metavar="PATH", help="write a lock file of exact versions")
    parser.add_argument(
        "--from-lock", metavar="PATH", help="rebuild the environments a lock file pins"
    )
    parser.add_argument(
        "--github-matrix",
        action="store_true",
        help='print {"include": [{"datajoint", "db", "python"}, ...]} and exit',
    )
    parser.add_argument(
        "--aggregate",
        metavar="DIR",
        help="build the table from the JSON reports under DIR instead of running checks",
    )
    parser.add_argument(
        "--expect",
        metavar="MATRIX_JSON",
        help="with --aggregate: the --github-matrix output the reports should cover; a "
        "combination without a report becomes harness_error cells of the ELEMENTs",
    )
    parser.add_argument("--cache-dir", metavar="DIR", help="environments and cached results")
    parser.add_argument(
        "--python-env",
        action="append",
        default=[],
        metavar="VERSION=PATH",
        help="use this existing environment for a DataJoint version (repeatable; "
        "env HARNESS_MATRIX_ENVS=V=PATH,...)",
    )
    parser.add_argument(
        "--python", metavar="PYTHON", help="interpreter to create environments from"
    )
    parser.add_argument(
        "--image", action="append", default=[], metavar="DB=IMAGE", help="server image per db"
    )
    parser.add_argument("--timeout", type=float, help="seconds per activate() (harness check)")
    parser.add_argument("--rerun", action="store_true", help="ignore cached results")
    parser.add_argument("-q", "--quiet", action="store_true", help="print failures only")
    parser.set_defaults(handler=run_matrix)
    return parser


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    result = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ConfigurationError(f"{flag} {item!r} is not KEY=VALUE")
        result[key] = value
    return result


def _command_line() -> str:
    return shlex.join(["harness", *sys.argv[1:]])


def _write_outputs(
    args: argparse.Namespace, cells: list[dict[str, Any]], table: Any, envs: Any
) -> None:
    from harness.matrix.render import html_page, json_document, markdown, write_json, write_text

    command = _command_line()
    if args.markdown:
        write_text(Path(args.markdown), markdown(table, command))
    if args.html:
        write_text(Path(args.html), html_page(table, command))
    if args.json:
        write_json(Path(args.json), json_document(cells, table, envs, command))
    if not args.quiet:
        print(markdown(table, command))


def _exit_status(cells: list[dict[str, Any]]) -> int:
    return 0 if all(cell["status"] == "passed" for cell in cells) else 1


def _print_github_matrix(args: argparse.Namespace) -> int:
    from harness.matrix.plan import (
        github_matrix,
        parse_backends,
        parse_datajoint_versions,
        split_list,
    )

    pythons = args.python_versions or ".".join(platform.python_version_tuple()[:2])
    matrix = github_matrix(
        parse_datajoint_versions(args.datajoint or DEFAULT_DATAJOINT),
        parse_backends(args.db or DEFAULT_DBS),
        split_list(pythons),
    )
    if not matrix["include"]:
        raise ConfigurationError("no supported combination of DataJoint version and server")
    print(json.dumps(matrix, separators=(",", ":")))
    return 0


def _aggregate(args: argparse.Namespace) -> int:
    from harness.matrix.aggregate import cells_in, missing_cells, parse_expected
    from harness.matrix.table import build_table

    expected = parse_expected(args.expect) if args.expect is not None else None
    cells = cells_in(Path(args.aggregate), required=expected is None)
    if expected is not None:
        cells += missing_cells(cells, expected, args.elements)
    table = build_table(cells)
    _write_outputs(args, cells, table, {})
    return _exit_status(cells)


def run_matrix(args: argparse.Namespace) -> int:
    """Run the ``matrix`` command parsed by :func:`add_matrix_parser`."""
    if args.github_matrix:
        return _print_github_matrix(args)
    if args.aggregate:
        return _aggregate(args)
    if args.expect is not None:
        raise ConfigurationError("--expect is only for --aggregate")
    from harness.matrix.envs import default_cache_dir, parse_env_overrides
    from harness.matrix.lock import read_lock, write_lock
    from harness.matrix.plan import combinations, parse_backends, parse_datajoint_versions
    from harness.matrix.runner import MatrixRequest
    from harness.matrix.runner import run_matrix as run
    from harness.matrix.table import build_table

    lock = read_lock(Path(args.from_lock)) if args.from_lock else None
    targets = list(args.elements) or (lock.targets if lock else [])
    versions = parse_datajoint_versions(
        args.datajoint or (",".join(lock.datajoint) if lock else DEFAULT_DATAJOINT)
    )
    dbs = parse_backends(args.db or (",".join(lock.dbs) if lock else DEFAULT_DBS))
    images = {db: str(info["image"]) for db, info in lock.images.items()} if lock else {}
    images.update(_pairs(args.image, "--image"))
    if lock is not None:
        unknown = [v for v in versions if v not in lock.pins]
        if unknown:
            raise ConfigurationError(
                f"the lock file pins no environment for DataJoint {', '.join(unknown)}"
            )
    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr))
    request = MatrixRequest(
        targets=targets,
        combos=combinations(versions, dbs),
        cache_dir=Path(args.cache_dir) if args.cache_dir else default_cache_dir(),
        jobs=args.jobs,
        env_overrides=parse_env_overrides(args.python_env, dict(os.environ)),
        pins=lock.pins if lock else {},
        images=images,
        base_python=args.python,
        timeout=args.timeout,
        rerun=args.rerun,
        say=say,
    )
    if not request.combos:
        raise ConfigurationError("no supported combination of DataJoint version and server")
    result = run(request)
    if lock is not None:
        _compare_with_lock(lock, result, say)
    if args.lock:
        write_lock(Path(args.lock), result)
    table = build_table(result.cells, result.combos, _element_names(result))
    environments = {
        dj: {
            "path": str(prepared.env.path),
            "origin": prepared.env.origin,
            "python": prepared.probe["python"],
            "datajoint": prepared.probe["datajoint"],
        }
        for dj, prepared in result.environments.items()
    }
    _write_outputs(args, result.cells, table, environments)
    return _exit_status(result.cells)


def _element_names(result: Any) -> list[str]:
    """Row order: the order the Elements were given in."""
    by_target = {cell["target"]: cell["element"] for cell in result.cells}
    return list(dict.fromkeys(by_target.get(target, target) for target in result.targets))


def _compare_with_lock(lock: Any, result: Any, say: Any) -> None:
    """Say where a rebuilt environment or server departs from the lock."""
    from harness.matrix.lock import pins_of

    for dj, prepared in result.environments.items():
        pins, _ = pins_of(prepared.probe["freeze"])
        wanted = set(lock.pins.get(dj, []))
        if set(pins) != wanted:
            extra = sorted(set(pins) - wanted)
            lost = sorted(wanted - set(pins))
            say(
                f"matrix: warning: DataJoint {dj} environment departs from the lock: "
                f"+{extra} -{lost}"
            )
    for db, image in result.images.items():
        locked = lock.images.get(db, {}).get("image_id")
        if locked and locked != image.id:
            say(f"matrix: warning: {db} image {image.name} is {image.id}, the lock has {locked}")
