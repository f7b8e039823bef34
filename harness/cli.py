"""The ``harness`` command.

Exit status: 0 when everything asked for passed, 1 when a check failed, 2 for
usage, configuration or environment errors (bad option, no engine, image
missing, server unreachable), 130 when interrupted. Errors the user can act on
are printed as one message and a hint, without a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import __version__
from harness.errors import HarnessError
from harness.interrupts import sigterm_as_interrupt
from harness.redact import RedactingFilter
from harness.settings import (
    OPTIONS,
    OPTIONS_BY_NAME,
    Settings,
    load_pyproject_table,
    resolve_settings,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: 128 + SIGPIPE, what a shell reports for a tool whose reader went away.
EXIT_BROKEN_PIPE = 141


def add_options(
    parser: argparse.ArgumentParser,
    groups: tuple[str, ...] = ("server",),
    without: frozenset[str] = frozenset(),
) -> None:
    """Add the flags of every option in ``groups`` but those named in ``without``.

    See :mod:`harness.settings`; ``harness release-check`` builds its parser with it too.
    """
    titles = {"server": "which database server to use", "check": "how to check Elements"}
    for group_name in groups:
        group = parser.add_argument_group(group_name, titles.get(group_name))
        for option in OPTIONS:
            if option.group == group_name and option.name not in without:
                _add_option(group, option)


def _add_option(group: Any, option: Any) -> None:
    """One option's flag; ``None`` when not given, so the environment and pyproject count."""
    help_text = f"{option.help} [env {option.env_var}]"
    if option.kind == "bool":
        group.add_argument(
            option.cli_flag,
            action="store_const",
            const=True,
            default=None,
            dest=option.name,
            help=help_text,
        )
    else:
        group.add_argument(
            option.cli_flag,
            type=_option_parser(option),
            default=None,
            dest=option.name,
            metavar=option.metavar,
            help=help_text,
        )


def _option_parser(option: Any) -> Any:
    def parse(text: str) -> Any:
        try:
            return option.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = option.name
    return parse


def settings_from_args(args: argparse.Namespace, *, db: str | None = None) -> Settings:
    """Settings from parsed CLI flags, the environment and ``[tool.harness]``."""
    cli_values = {option.name: getattr(args, option.name, None) for option in OPTIONS}
    if db is not None:
        cli_values["db"] = db
    table, path = load_pyproject_table(Path.cwd())
    return resolve_settings(cli_values, os.environ, table, path)


def _cmd_smoke(args: argparse.Namespace) -> int:
    """Start the server for each backend, query it, remove it."""
    from harness.db.provider import provide_server

    backends = args.backends or [None]
    for backend in backends:
        settings = settings_from_args(args, db=backend)
        started = time.monotonic()
        with provide_server(settings) as server:
            ready = time.monotonic() - started
            print(f"ok  {server.describe()}: SQL-ready in {ready:.2f} s")
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    """Check Elements against the configured server."""
    from harness.activation.runner import check_options
    from harness.db.provider import provide_server
    from harness.isolation.supervisor import preload_in_background
    from harness.progress import choose_progress
    from harness.reports.html import write_html
    from harness.reports.json_report import write_json
    from harness.reports.junit import write_junit
    from harness.reports.markdown import write_markdown
    from harness.runinfo import RunIdentity
    from harness.session import prepare_targets, run_checks

    if args.list:
        from harness.elements.spec import load_spec, spec_search_dirs

        for directory in spec_search_dirs():
            for path in sorted(directory.glob("*.toml")):
                spec = load_spec(path)
                print(f"{spec.name:34} {spec.version or '-':10} {path}")
        return EXIT_OK
    if not args.targets:
        raise HarnessError(
            "no target given",
            hint="e.g. harness check element-lab; `harness check --list` shows the known specs",
        )
    verbose = getattr(args, "verbose", False)
    say = (lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr))
    settings = settings_from_args(args)
    if not settings.external:
        from harness.activation import compat

        # Before paying for a server, and without paying for DataJoint's import yet.
        compat.require_backend_support(settings.db, compat.installed_version())
    # Absolute before any Element code runs, wherever that code may wander.
    writers = ((args.json, write_json), (args.junit, write_junit))
    writers += ((args.markdown, write_markdown), (args.html, write_html))
    reports = [(Path(path).absolute(), write) for path, write in writers if path]
    targets = prepare_targets(args.targets, install=not args.no_install, say=say)
    options = check_options(settings)
    run = RunIdentity.new()
    preload_in_background()  # DataJoint's imports overlap the server's start
    with provide_server(settings, run) as server:
        if not args.quiet:
            print(f"server: {server.describe()}", file=sys.stderr)
        names = [target.name for target in targets]
        with choose_progress(names, verbose=verbose, quiet=args.quiet) as progress:
            report = run_checks(
                targets,
                server,
                run,
                options,
                on_result=progress.finish,
                on_start=progress.start,
                on_step=progress.step,
                jobs=settings.jobs,
            )
    for destination, write in reports:
        try:
            write(report, destination)
        except OSError as exc:  # a directory in the way, no permission, disk full
            raise HarnessError(
                f"cannot write the report to {destination}: {exc.strerror or exc}",
                hint="choose a path in a writable directory",
            ) from None
    summary = report.summary()
    if not args.quiet or not report.passed:
        print(f"{summary['passed']} passed, {summary['failed'] + summary['error']} failed")
    complete = len(report.results) == len(targets)
    return EXIT_OK if report.passed and complete else EXIT_FAILED


def _cmd_diff(args: argparse.Namespace) -> int:
    """Compare two manifests or reports; exit 1 when they differ."""
    from harness.manifest import diff_manifests, manifests_in, render_diff

    old, new = manifests_in(Path(args.old)), manifests_in(Path(args.new))
    if len(old) == 1 and len(new) == 1:
        old, new = {"": next(iter(old.values()))}, {"": next(iter(new.values()))}
    differ = False
    for name in sorted(set(old) | set(new)):
        label = f"{name}: " if name else ""
        if name not in new or name not in old:
            print(f"{label}only in {args.old if name in old else args.new}")
            differ = True
            continue
        changes = diff_manifests(old[name], new[name])
        if changes:
            differ = True
            if name:
                print(f"{name}:")
            print(render_diff(changes))
    if not differ and not getattr(args, "quiet", False):
        print("no differences")
    return EXIT_FAILED if differ else EXIT_OK


def _cmd_deploy(args: argparse.Namespace) -> int:
    """``harness deploy``, with ``--manifest-dir`` resolved like every other option."""
    from harness.deploy.commands import run_deploy

    manifest_dir = settings_from_args(args).manifest_dir
    return run_deploy(args, Path(manifest_dir) if manifest_dir else None)


def _cmd_init(args: argparse.Namespace) -> int:
    """``harness init``: add the harness to an Element's repository."""
    from harness.scaffold.command import run_init

    return run_init(args)


def _cmd_sweep(args: argparse.Namespace) -> int:
    from harness.db.sweep import sweep_containers

    report = sweep_containers(dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for name in report.removed:
        print(f"{verb} {name}")
    if not args.dry_run:
        from harness.db.reuse import sweep_reused_namespaces

        for prefix in sweep_reused_namespaces():
            print(f"dropped namespace {prefix} of a dead run (reusable server)")
    if getattr(args, "verbose", False):
        for name, reason in report.spared:
            print(f"spared {name}: {reason}")
    print(f"sweep: {verb} {len(report.removed)} container(s), spared {len(report.spared)}")
    return EXIT_OK


def _cmd_down(args: argparse.Namespace) -> int:
    from harness.db.sweep import remove_reusable_containers, sweep_containers

    removed = remove_reusable_containers()
    for name in removed:
        print(f"removed {name}")
    swept = sweep_containers().removed
    print(
        f"down: removed {len(removed)} reusable container(s) and "
        f"{len(swept)} leftover(s) of dead runs"
    )
    return EXIT_OK


def _common_options() -> argparse.ArgumentParser:
    """Flags every subcommand accepts, before or after its name."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="say more (for sweep: also list what is spared)",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness",
        description="Check DataJoint Elements against real database servers in containers.",
        epilog="exit status: 0 all passed, 1 a check failed, 2 usage/configuration/"
        "environment error, 130 interrupted",
    )
    parser.add_argument("--version", action="version", version=f"element-harness {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    common = _common_options()
    parser.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="say more"
    )

    smoke = commands.add_parser(
        "smoke",
        parents=[common],
        help="start a server, check that it answers SQL, remove it",
        description="Start the server for each BACKEND (default: --db / HARNESS_DB), run "
        "a query and remove it again; prints how long it took to be SQL-ready.",
    )
    smoke.add_argument(
        "backends", nargs="*", metavar="BACKEND", help="mysql, mariadb or postgresql"
    )
    add_options(smoke)
    smoke.set_defaults(handler=_cmd_smoke)

    check = commands.add_parser(
        "check",
        parents=[common],
        help="check that Elements import, activate and declare their tables",
        description="Check each TARGET (a spec name under elements/, a spec "
        "file, an installed package or module, or an Element's source directory) on a real "
        "server: import, activate with a synthesized linking module in an isolated namespace, "
        "read the catalog, tear down.",
    )
    check.add_argument("targets", nargs="*", metavar="TARGET")
    check.add_argument("--list", action="store_true", help="list the known Element specs")
    check.add_argument(
        "--no-install", action="store_true", help="never pip-install an Element a spec names"
    )
    check.add_argument("--json", metavar="PATH", help="write the JSON report here")
    check.add_argument("--junit", metavar="PATH", help="write a JUnit XML report here")
    check.add_argument(
        "--markdown", metavar="PATH", help="write a Markdown summary (Mermaid diagrams) here"
    )
    check.add_argument("--html", metavar="PATH", help="write a self-contained HTML report here")
    check.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print failures only (no live display); -v adds timings, mocks, stubs, warnings",
    )
    add_options(check, ("server", "check"))
    check.set_defaults(handler=_cmd_check)

    diff = commands.add_parser(
        "diff",
        parents=[common],
        help="compare two manifests or JSON reports",
        description="Print the differences between two manifests (elements/manifests/*.json) "
        "or two JSON reports, as `+ table`, `- attribute`, `~ type a -> b`, `~ primary key`, "
        "`- foreign key`. Exit status 0: identical, 1: they differ, 2: unreadable input.",
    )
    diff.add_argument("old", metavar="OLD")
    diff.add_argument("new", metavar="NEW")
    diff.add_argument("-q", "--quiet", action="store_true", help="print differences only")
    diff.set_defaults(handler=_cmd_diff)

    sweep = commands.add_parser(
        "sweep",
        parents=[common],
        help="remove containers left by dead runs",
        description="Remove containers labelled by the harness whose owning process is gone. "
        "Containers of live runs and reusable containers are never touched.",
    )
    sweep.add_argument("--dry-run", action="store_true", help="only list what would go")
    sweep.set_defaults(handler=_cmd_sweep)

    down = commands.add_parser(
        "down",
        parents=[common],
        help="remove reusable server containers (and dead runs' leftovers)",
        description="Remove the long-lived containers kept by --reuse / HARNESS_REUSE.",
    )
    down.set_defaults(handler=_cmd_down)

    from harness.matrix.commands import add_matrix_parser, run_matrix
    from harness.release import add_release_parser, run_release

    add_matrix_parser(commands).set_defaults(handler=run_matrix)
    add_release_parser(commands).set_defaults(handler=run_release)
    try:
        from harness.images.commands import add_images_parser, run_images
    except ImportError:  # pragma: no cover - the images package ships with the harness
        pass
    else:
        add_images_parser(commands).set_defaults(handler=run_images)
    from harness.deploy.arguments import add_deploy_parser

    deploy = add_deploy_parser(commands)
    _add_option(deploy, OPTIONS_BY_NAME["manifest_dir"])
    deploy.set_defaults(handler=_cmd_deploy)

    from harness.port import add_port_parser, run_port

    add_port_parser(commands, parents=[common]).set_defaults(handler=run_port)

    from harness.scaffold.command import add_init_parser

    init = add_init_parser(commands, parents=[common])
    # init always records the manifests (into a scratch directory, then reviewed files).
    add_options(init, ("server", "check"), without=frozenset({"update_manifests"}))
    init.set_defaults(handler=_cmd_init)
    return parser


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("harness")
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harness`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(getattr(args, "verbose", False))
    restore_sigterm = sigterm_as_interrupt()
    try:
        return int(args.handler(args))
    except HarnessError as exc:
        print(f"harness: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("harness: interrupted; containers of this run were removed", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of our output left (`harness check --list | head`). Like a Unix tool
        # ended by SIGPIPE: no traceback, and never a success status for a cut-off run.
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    finally:
        restore_sigterm()


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush raises nothing more."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
