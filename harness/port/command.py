"""``harness port TARGET [--write]``: the command line and its flow.

Resolve (and install, for a spec) the target as ``harness check`` does; scan all
its modules; with ``--write``, rewrite the mechanical findings in the Element's
own tree and print the diff; then, when this interpreter has DataJoint 2, run the
harness check in isolation (:func:`harness.session.run_checks`) for what the
source cannot show. Exit status: 0 nothing found and the check passed (or could
not run), 1 something remains, 2 usage or environment error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.errors import ConfigurationError, HarnessError

EXIT_OK, EXIT_FOUND = 0, 1


def add_port_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> Any:
    """Add ``port`` to the ``harness`` subcommands."""
    from harness.cli import add_options

    parser = subparsers.add_parser(
        "port",
        parents=parents,
        help="list every DataJoint 2 incompatibility of an Element; --write fixes the mechanical",
        description="Scan every module of TARGET (a spec name or file, an installed package, "
        "or an Element's source directory) for what DataJoint 2.x removed, rejects or reads "
        "differently, with file, line, what happens on 2.x and the replacement; then, when "
        "DataJoint 2 is installed here, run the harness check for what the source cannot "
        "show. --write applies the mechanical replacements in place (a source tree only). "
        "Exit status 0: nothing found, 1: something found (or left), 2: usage or "
        "environment error. See docs/porting.md.",
    )
    parser.add_argument("target", metavar="TARGET")
    parser.add_argument(
        "--write", action="store_true", help="apply the mechanical replacements in place"
    )
    parser.add_argument("--json", metavar="PATH", help="write the findings here (JSON)")
    parser.add_argument(
        "--no-check", action="store_true", help="static analysis only: never run the check"
    )
    parser.add_argument(
        "--no-install", action="store_true", help="never pip-install an Element a spec names"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print the findings only")
    add_options(parser, ("server", "check"), without=frozenset({"update_manifests"}))
    return parser


def run_port(args: argparse.Namespace) -> int:
    from harness.activation import compat
    from harness.port.fix import write_fixes
    from harness.port.render import PortReport
    from harness.port.scan import scan_package
    from harness.port.source import locate_source
    from harness.session import prepare_targets

    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr))
    json_path = Path(args.json).absolute() if args.json else None
    (target,) = prepare_targets([args.target], install=not args.no_install, say=say)
    source = locate_source(target)
    if args.write and source.read_only:
        raise ConfigurationError(
            f"refusing to write into {source.package_dir}: {source.read_only}",
            hint="port a copy you own: a git checkout of the Element, or `pip download "
            "--no-deps` and unpack it, then `harness port DIR --write`",
        )
    scan = scan_package(source.package_dir)
    report = PortReport(
        target=args.target,
        name=target.name,
        package_dir=source.package_dir,
        datajoint=compat.version(),
        files=scan.files,
        findings=scan.findings,
        unreadable=scan.unreadable,
    )
    if args.write:
        written = write_fixes(source.package_dir, scan_package)
        report.written, report.changed, report.fixed = True, written.changed, written.applied
        if written.after is not None:
            report.findings, report.unreadable = written.after.findings, written.after.unreadable
        if written.diff:
            sys.stdout.write(written.diff)
    if args.no_check:
        report.check_note = "--no-check"
    elif compat.major_version() < 2:
        report.check_note = (
            f"DataJoint {compat.version()} is installed here; run `harness port` where "
            "datajoint>=2 is installed to check activation too"
        )
    else:
        try:
            report.check = _check(args, target, say)
        except HarnessError as exc:  # no engine, no image, ...: the findings still count
            report.check_note = f"the check could not run: {exc.message}"
            _finish(report, json_path)
            raise
    _finish(report, json_path)
    return EXIT_OK if report.clean else EXIT_FOUND


def _finish(report: Any, json_path: Path | None) -> None:
    """Print the report and write the JSON, whatever happened to the check."""
    from harness.port.render import render_text, write_json

    print(render_text(report))
    if json_path is not None:
        write_json(report, json_path)


def _check(args: argparse.Namespace, target: Any, say: Any) -> dict[str, Any]:
    """The harness check of ``target``, isolated in its own process, as a result dict."""
    from harness.activation import compat
    from harness.activation.runner import check_options
    from harness.cli import settings_from_args
    from harness.db.provider import provide_server
    from harness.runinfo import RunIdentity
    from harness.session import run_checks

    settings = settings_from_args(args)
    if not settings.external:
        compat.require_backend_support(settings.db)
    run = RunIdentity.new()
    with provide_server(settings, run) as server:
        say(f"checking {target.name} on {server.describe()}")
        report = run_checks([target], server, run, check_options(settings), jobs=1)
    return report.results[0].to_dict()
