"""The ``deploy`` subcommand's arguments, apart from the code that runs it.

Building the command line parser must not import what a deploy needs (the
container client, the drivers, DataJoint): every ``harness`` command builds the
whole parser, and ``harness check`` should not pay for ``deploy``.
"""

from __future__ import annotations

import argparse
from typing import Any

#: Where the target's password is read from when the URL has none.
PASSWORD_ENV = "HARNESS_TARGET_PASSWORD"
#: Seconds an apply waits for another one by default (a large pipeline, rehearsed).
DEFAULT_LOCK_TIMEOUT = 300.0


def add_deploy_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The ``deploy`` subcommand; the caller sets its handler to :func:`run_deploy`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "deploy",
        help="plan or apply a pipeline of Elements on a real database server",
        description="Compare the target's schemas with what each Element release declares "
        "(its manifest) and show the plan (the default); with --apply, create what is "
        "missing by activating the pipeline, never dropping, altering or deleting, then "
        "verify; an apply holds the server's deploy lock and is rehearsed first on a "
        "throwaway copy of the target. See docs/deploy.md.",
        epilog="exit status: 0 done, 1 refused (drift, a stale saved plan, a failed rehearsal, "
        "the deploy lock held too long) or failed part way, 2 configuration, connection or "
        "credentials error",
    )
    parser.add_argument(
        "pipeline",
        metavar="PIPELINE",
        help="pipeline spec (.toml) or its name, or a lab's pipeline module (pipeline.py)",
    )
    parser.add_argument(
        "--target",
        required=True,
        metavar="URL",
        help="mysql://, mariadb:// or postgresql://user[:password]@host[:port]; password "
        f"else from {PASSWORD_ENV} or a prompt",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--plan", action="store_true", help="show the plan only (the default)")
    mode.add_argument(
        "--apply",
        nargs="?",
        const="",
        default=None,
        metavar="PLAN.json",
        help="create what the plan lists; with PLAN.json, exactly that saved plan, refused if "
        "the target changed since it was made",
    )
    parser.add_argument(
        "--out",
        metavar="PLAN.json",
        help="write the plan, bound to the target's current state, for --apply PLAN.json",
    )
    parser.add_argument(
        "--allow-additive-drift",
        action="store_true",
        help="apply although existing tables have extra tables or nullable/defaulted columns",
    )
    parser.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="connect timeout (default 10 s)"
    )
    parser.add_argument("--no-ddl", action="store_true", help="do not print the CREATE statements")
    parser.add_argument(
        "--lock-timeout",
        type=float,
        default=DEFAULT_LOCK_TIMEOUT,
        metavar="S",
        help="how long apply waits for another apply on the server to finish "
        f"(default {DEFAULT_LOCK_TIMEOUT:g} s)",
    )
    parser.add_argument(
        "--no-rehearse",
        dest="rehearse",
        action="store_false",
        help="apply without first rehearsing on a throwaway copy of the target",
    )
    parser.add_argument(
        "--rehearse-image",
        metavar="IMAGE",
        help="image of the rehearsal server (default: the harness's image of the backend)",
    )
    parser.add_argument(
        "--prefix",
        metavar="PREFIX",
        help="for a pipeline module: its dj.config['custom']['database.prefix'] on the target "
        "(default: DATABASE_PREFIX, else DataJoint's config, else none)",
    )
    add_tls_arguments(parser)
    return parser


def add_tls_arguments(parser: argparse.ArgumentParser) -> None:
    """``--tls``, ``--tls-ca FILE`` and ``--insecure`` (see :mod:`harness.db.tls`)."""
    parser.add_argument(
        "--tls",
        action="store_true",
        help="connect with TLS, verifying the server's certificate chain and host name",
    )
    parser.add_argument(
        "--tls-ca",
        metavar="FILE",
        help="PEM file of the CA that signed the server's certificate (implies --tls)",
    )
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="allow sending the password to a server not on this machine without TLS",
    )
