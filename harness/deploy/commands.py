"""``harness deploy PIPELINE --target URL [--plan | --apply]``.

Exit status: 0 the plan was shown, or apply created what was missing and the
target verified; 1 apply refused (drift) or failed part way, or verification
found differences; 2 the pipeline file, the URL, the connection or the
credentials are wrong (nothing was changed).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.activation import compat
from harness.db.backends import get_backend
from harness.db.external import ExternalTarget, parse_external_url
from harness.db.tls import tls_settings
from harness.deploy.apply import ApplyResult, activate_pipeline, refusal, summarize
from harness.deploy.pipeline import loaded_pipeline
from harness.deploy.planner import CREATE, compute_plan
from harness.deploy.render import render_plan, summary
from harness.deploy.spec import find_pipeline, load_pipeline
from harness.deploy.target import PASSWORD_ENV, connect, resolve_target
from harness.errors import ConfigurationError
from harness.redact import redact_text

EXIT_OK, EXIT_REFUSED = 0, 1


def add_deploy_parser(subparsers: Any) -> argparse.ArgumentParser:
    """The ``deploy`` subcommand; the caller sets its handler to :func:`run_deploy`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "deploy",
        help="plan or apply a pipeline of Elements on a real database server",
        description="Compare the target's schemas with what each Element release declares "
        "(its manifest) and show the plan (the default); with --apply, create what is "
        "missing by activating the pipeline, never dropping, altering or deleting, then "
        "verify. See docs/deploy.md.",
        epilog="exit status: 0 done, 1 refused (drift) or failed part way, 2 configuration, "
        "connection or credentials error",
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
    mode.add_argument("--apply", action="store_true", help="create what the plan lists")
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


def print_result(result: ApplyResult, say: Callable[[str], None]) -> None:
    if result.created_schemas:
        say("created schemas: " + ", ".join(result.created_schemas))
    say(f"created tables: {len(result.created_tables)}")
    for name in result.created_tables:
        say(f"    + {name}")
    if result.error:
        say(f"apply stopped: {result.error}")
    if result.remaining:
        say(f"not verified: {len(result.remaining)} difference(s) remain")
        for line in result.remaining:
            say(f"    {line}")
        say("run the plan again to see exactly what remains")
    else:
        say(f"verified: {result.verified} table(s) match their manifests")


def run_deploy(args: argparse.Namespace, manifest_dir: Path | None = None) -> int:
    """Plan (default) or apply a pipeline; see the module docstring for the exit status.

    ``manifest_dir`` (``--manifest-dir``, resolved by the CLI) is searched for each
    Element's manifest before the bundled ones.
    """

    def say(text: str) -> None:
        print(redact_text(text), flush=True)

    if args.pipeline.endswith(".py"):
        from harness.workflow.deploy import run_module_deploy

        return run_module_deploy(args, manifest_dir)
    spec = load_pipeline(find_pipeline(args.pipeline))
    target, connection = connect_target(args)
    backend = get_backend(target.backend)
    try:
        secured = f" ({target.tls.describe()})" if target.tls else ""
        say(f"pipeline {spec.name} ({spec.path}) on {target.display()}{secured}")
        with loaded_pipeline(spec, manifest_dir, target.backend) as elements:
            plan = compute_plan(backend, connection, elements)
            say(render_plan(plan, ddl=not args.no_ddl))
            if not args.apply:
                return EXIT_OK
            live = {f"{t.schema}.{t.name}": t for t in _live_tables(backend, connection, elements)}
            blocking = refusal(plan, live, args.allow_additive_drift)
            if blocking:
                say("refusing to apply: the target has drifted from the manifests:")
                for change in blocking:
                    say(f"    {change.render()}")
                if not args.allow_additive_drift:
                    say("(--allow-additive-drift accepts extra tables and nullable columns)")
                return EXIT_REFUSED
            allowed = plan.drift
            if plan.nothing_to_do:
                say("apply: nothing to create")
                error = None
            else:
                error = activate_pipeline(target, elements, say)
            after = compute_plan(backend, connection, elements)
            result = summarize(plan, after, allowed, error)
            print_result(result, say)
            if result.error is not None and after.all(CREATE):
                say("after: " + summary(after))
            return EXIT_OK if result.ok else EXIT_REFUSED
    finally:
        connection.close()


def connect_target(args: argparse.Namespace) -> tuple[ExternalTarget, Any]:
    """The ``--target`` server (TLS as asked, refused when unprotected) and a connection."""
    refuse_unsupported_backend(args.target)
    tls = tls_settings(args.tls, args.tls_ca)
    target = resolve_target(args.target, tls=tls, insecure=args.insecure)
    return target, connect(target, args.timeout)


def refuse_unsupported_backend(url: str) -> None:
    """PostgreSQL targets need DataJoint 2: say so before a password is asked for."""
    backend = parse_external_url(url).backend
    if not compat.supports_backend(backend):
        raise ConfigurationError(
            f"cannot deploy to a {backend} server with DataJoint {compat.version()}: "
            "DataJoint 0.14 has no PostgreSQL support (it arrived in DataJoint 2.0)",
            hint="deploy from an environment with datajoint>=2 and Element releases that "
            "support it, or deploy to a MySQL server",
        )


def _live_tables(backend: Any, connection: Any, elements: list[Any]) -> list[Any]:
    from harness.deploy.live import read_schemas

    return read_schemas(backend, connection, [s for e in elements for s in e.schemas.values()])
