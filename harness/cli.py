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
from harness.settings import OPTIONS, Settings, load_pyproject_table, resolve_settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _UsageParser(argparse.ArgumentParser):
    """argparse exits with 2 on usage errors already; keep its message short."""


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("server", "which database server to use")
    for option in OPTIONS:
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
    return resolve_settings(
        cli_values, os.environ, table, path, known_extra_keys=frozenset({"elements"})
    )


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


def _cmd_sweep(args: argparse.Namespace) -> int:
    from harness.db.sweep import sweep_containers

    report = sweep_containers(dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for name in report.removed:
        print(f"{verb} {name}")
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
    parser = _UsageParser(
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
    _add_server_options(smoke)
    smoke.set_defaults(handler=_cmd_smoke)

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

    try:
        from harness.images.commands import add_images_parser
    except ImportError:  # pragma: no cover - the images package ships with the harness
        pass
    else:
        add_images_parser(commands)
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
    finally:
        restore_sigterm()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
