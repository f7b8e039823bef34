"""``harness deploy PIPELINE --target URL [--plan [--out PLAN.json] | --apply [PLAN.json]]``.

An apply runs in this order, so that nothing reaches the target that was not
planned, reviewed and rehearsed against what the target holds at that moment:
take the server's deploy lock (:mod:`harness.deploy.lock`), compute the plan
afresh, check a saved plan's binding and fingerprint
(:mod:`harness.deploy.saved_plan`), refuse drift, rehearse on a throwaway copy
(:mod:`harness.deploy.rehearsal`), activate on the target, verify, release.

Exit status: 0 the plan was shown, or apply created what was missing and the
target verified; 1 apply refused (drift, a stale or foreign saved plan, a
failed rehearsal, the lock held too long) or failed part way, or verification
found differences; 2 the pipeline file, the plan file, the URL, the connection
or the credentials are wrong (nothing was changed).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.activation import compat
from harness.db.backends import get_backend
from harness.db.backends.base import Backend
from harness.db.external import ExternalTarget, parse_external_url
from harness.db.tls import tls_settings
from harness.deploy.apply import ApplyResult, activate_pipeline, refusal, summarize
from harness.deploy.fingerprint import affected_schemas, read_state, state_changes
from harness.deploy.live import read_schemas
from harness.deploy.lock import deploy_lock
from harness.deploy.pipeline import LoadedElement, loaded_pipeline
from harness.deploy.planner import CREATE, DeployPlan, compute_plan
from harness.deploy.rehearsal import (
    announce_rehearsal,
    refuse_changed_since_rehearsal,
    rehearse,
)
from harness.deploy.render import render_plan, summary
from harness.deploy.saved_plan import (
    binding_problems,
    plan_differences,
    plan_document,
    read_plan,
    reviewed_plan,
    write_plan,
)
from harness.deploy.spec import PipelineSpec, find_pipeline, load_pipeline
from harness.deploy.target import connect, resolve_target
from harness.errors import ConfigurationError
from harness.redact import redact_text

EXIT_OK, EXIT_REFUSED = 0, 1


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


RE_PLAN = "review a new plan: harness deploy PIPELINE --target URL --plan --out PLAN.json"


@dataclass
class _Deploy:
    """What every step of one ``harness deploy`` needs."""

    args: argparse.Namespace
    spec: PipelineSpec
    target: ExternalTarget
    backend: Backend
    connection: Any
    manifest_dir: Path | None
    say: Callable[[str], None]


def run_deploy(args: argparse.Namespace, manifest_dir: Path | None = None) -> int:
    """Plan (default) or apply a pipeline; see the module docstring for the exit status.

    ``manifest_dir`` (``--manifest-dir``, resolved by the CLI) is searched for each
    Element's manifest before the bundled ones.
    """

    def say(text: str) -> None:
        print(redact_text(text), flush=True)

    if args.out is not None and args.apply is not None:
        raise ConfigurationError(
            "--out writes a plan and cannot be combined with --apply",
            hint="first --plan --out PLAN.json, review it, then --apply PLAN.json",
        )
    if args.lock_timeout < 0:
        raise ConfigurationError("--lock-timeout must be 0 or more seconds")
    if args.pipeline.endswith(".py"):
        from harness.workflow.deploy import run_module_deploy

        return run_module_deploy(args, manifest_dir)
    spec = load_pipeline(find_pipeline(args.pipeline))
    saved = read_plan(Path(args.apply)) if args.apply else None
    target = deploy_target(args)
    if saved is not None:
        problems = binding_problems(saved, spec, target)
        if problems:
            say(f"refusing to apply {args.apply}: it is not a plan of this pipeline and target:")
            for problem in problems:
                say(f"    {problem}")
            say(f"nothing was changed; {RE_PLAN}")
            return EXIT_REFUSED
    backend = get_backend(target.backend)
    connection = connect(target, args.timeout)
    run = _Deploy(args, spec, target, backend, connection, manifest_dir, say)
    try:
        secured = f" ({target.tls.describe()})" if target.tls else ""
        say(f"pipeline {spec.name} ({spec.path}) on {target.display()}{secured}")
        if args.apply is None:
            return _plan(run)
        with deploy_lock(
            backend, lambda: connect(target, args.timeout), args.lock_timeout, target.display(), say
        ):
            return _apply(run, saved)
    finally:
        connection.close()


def _plan(run: _Deploy) -> int:
    with loaded_pipeline(run.spec, run.manifest_dir, run.target.backend) as elements:
        plan = compute_plan(run.backend, run.connection, elements)
        run.say(render_plan(plan, ddl=not run.args.no_ddl))
        if run.args.out is not None:
            state = read_state(run.backend, run.connection, affected_schemas(elements, plan))
            out = Path(run.args.out)
            write_plan(out, plan_document(run.spec, run.target, plan, elements, state))
            run.say(f"plan written to {out} (target fingerprint {state.fingerprint})")
            run.say(f"apply exactly this plan with: --apply {out}")
    return EXIT_OK


def _apply(run: _Deploy, saved: dict[str, Any] | None) -> int:
    """Under the lock: plan afresh, check, rehearse, then apply to the target."""
    say = run.say
    with loaded_pipeline(run.spec, run.manifest_dir, run.target.backend) as elements:
        plan = compute_plan(run.backend, run.connection, elements)
        say(render_plan(plan, ddl=not run.args.no_ddl))
        if saved is not None and not _saved_plan_holds(run, saved, elements, plan):
            return EXIT_REFUSED
        live = {
            f"{t.schema}.{t.name}": t
            for t in read_schemas(
                run.backend, run.connection, [s for e in elements for s in e.schemas.values()]
            )
        }
        blocking = refusal(plan, live, run.args.allow_additive_drift)
        if blocking:
            say("refusing to apply: the target has drifted from the manifests:")
            for change in blocking:
                say(f"    {change.render()}")
            if not run.args.allow_additive_drift:
                say("(--allow-additive-drift accepts extra tables and nullable columns)")
            return EXIT_REFUSED
        if plan.nothing_to_do:
            say("apply: nothing to create")
            return _verify(run, elements, plan, None)
        if not run.args.rehearse:
            return _verify(run, elements, plan, activate_pipeline(run.target, elements, say))
        reviewed = reviewed_plan(plan, elements)
        outcome = rehearse(
            run.backend,
            run.connection,
            elements,
            plan,
            affected_schemas(elements, plan),
            say,
            image=run.args.rehearse_image,
        )
        if not announce_rehearsal(outcome, say):
            return EXIT_REFUSED
    # The rehearsal activated those modules against the copy: the target gets a fresh import.
    with loaded_pipeline(run.spec, run.manifest_dir, run.target.backend) as elements:
        plan = compute_plan(run.backend, run.connection, elements)
        differences = plan_differences(reviewed, reviewed_plan(plan, elements))
        if refuse_changed_since_rehearsal(differences, say):
            return EXIT_REFUSED
        return _verify(run, elements, plan, activate_pipeline(run.target, elements, say))


def _saved_plan_holds(
    run: _Deploy, saved: dict[str, Any], elements: list[LoadedElement], plan: DeployPlan
) -> bool:
    """Whether the saved plan is still the plan: same target state, same statements."""
    path, say = run.args.apply, run.say
    # The schemas the plan's state covered; the plan computed now says if it needs others.
    state = read_state(run.backend, run.connection, saved["target_state"]["schemas"])
    if state.fingerprint != saved["fingerprint"]:
        changes = state_changes(saved["target_state"], state.canonical)
        say(f"refusing to apply {path}: the target changed since the plan was made:")
        for line in changes or ["~ details the plan's state records (table comments)"]:
            say(f"    {line}")
        say(f"nothing was changed; {RE_PLAN}")
        return False
    differences = plan_differences(saved["plan"], reviewed_plan(plan, elements))
    if differences:
        say(
            f"refusing to apply {path}: the target is unchanged, but the plan computed now "
            "differs from the reviewed one (a manifest, an installed Element or the harness "
            "changed):"
        )
        for line in differences:
            say(f"    {line}")
        say(f"nothing was changed; {RE_PLAN}")
        return False
    say(
        f"saved plan {path} (made {saved.get('created', '?')}): the target is unchanged "
        f"({saved['fingerprint']}), applying the reviewed statements"
    )
    return True


def _verify(
    run: _Deploy, elements: list[LoadedElement], plan: DeployPlan, error: str | None
) -> int:
    """Read the target again, compare with the plan, print the result."""
    after = compute_plan(run.backend, run.connection, elements)
    result = summarize(plan, after, plan.drift, error)
    print_result(result, run.say)
    if result.error is not None and after.all(CREATE):
        run.say("after: " + summary(after))
    return EXIT_OK if result.ok else EXIT_REFUSED


def connect_target(args: argparse.Namespace) -> tuple[ExternalTarget, Any]:
    """The ``--target`` server (TLS as asked, refused when unprotected) and a connection."""
    target = deploy_target(args)
    return target, connect(target, args.timeout)


def deploy_target(args: argparse.Namespace) -> ExternalTarget:
    """The ``--target`` server, refused before any password when it cannot be served."""
    refuse_unsupported_backend(args.target)
    tls = tls_settings(args.tls, args.tls_ca)
    return resolve_target(args.target, tls=tls, insecure=args.insecure)


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
