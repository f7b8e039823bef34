"""``harness deploy workflow_lab/pipeline.py --target URL [--prefix P]``: plan and apply it.

Planned like a pipeline spec (:mod:`harness.deploy.planner`), against the
pipeline's own manifest (the one ``harness check`` compares with, schema stems
without the prefix), each stem placed at ``prefix + stem`` on the target:
schemas and tables to create, present and matching, drift. Computing the plan
never imports the module, because importing it activates it. Apply refuses on
drift as for a spec, then imports the module as the target's user with the
prefix set (DataJoint's own activation: it creates what is missing, never
drops or alters) and verifies the target against the manifest again. Like a
spec's apply, it holds the server's deploy lock from before the plan is
recomputed until verification ends (:mod:`harness.deploy.lock`), and is first
rehearsed: the module is imported against a throwaway copy of the target's
affected schemas (:func:`harness.deploy.rehearsal.target_copy`) with the same
prefix and verified there, then imported afresh on the target.

The plan lists the tables to create but not their ``CREATE`` statements: those
exist only once the module's classes are activated, which is the apply itself.
So a module's plan cannot be saved for a later ``--apply PLAN.json`` (there is
nothing to review statement by statement), and the copy's plan is compared
with the target's table by table.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import resources
from harness.activation import compat
from harness.activation.failures import FailureClass
from harness.db.backends import get_backend
from harness.db.backends.base import Backend
from harness.db.catalog import Table
from harness.db.external import ExternalTarget
from harness.deploy.apply import ACTIVATE_TIMEOUT, refusal, summarize
from harness.deploy.commands import EXIT_OK, EXIT_REFUSED, connect_target, print_result
from harness.deploy.expected import expected_tables, full_name
from harness.deploy.fingerprint import referenced_schemas
from harness.deploy.live import existing_schemas, read_schemas
from harness.deploy.lock import deploy_lock
from harness.deploy.planner import (
    CREATE,
    DRIFT,
    MATCH,
    DeployPlan,
    ElementPlan,
    TablePlan,
    creation_order,
)
from harness.deploy.rehearsal import (
    Rehearsal,
    announce_rehearsal,
    failing_statements,
    refuse_changed_since_rehearsal,
    target_copy,
    unfaithful,
)
from harness.deploy.render import render_plan, summary
from harness.deploy.target import connect
from harness.elements.targets import Target, resolve_target
from harness.errors import ConfigurationError
from harness.manifest import Change, diff_manifests, load_manifest
from harness.redact import redact_text
from harness.workflow.check import pipeline_manifest
from harness.workflow.module import import_failure, imported_pipeline

#: What the plan shows instead of DDL (see the module docstring).
NO_DDL = "-- created by importing the pipeline module (DataJoint's activation) on apply"


def default_prefix() -> str:
    """The prefix the lab's own runs use: ``DATABASE_PREFIX``, else (DataJoint 0.14)
    ``dj.config["custom"]["database.prefix"]`` from its config file, else none."""
    if os.environ.get(compat.WORKFLOW_PREFIX_ENV):
        return os.environ[compat.WORKFLOW_PREFIX_ENV]
    dj = compat.datajoint()
    if compat.major_version() < 2 and "custom" in dj.config:
        return str(dj.config["custom"].get(compat.WORKFLOW_PREFIX_KEY, "") or "")
    return ""


def load_module_manifest(
    target: Target, manifest_dir: Path | None, backend: str
) -> tuple[Path, dict[str, Any]]:
    path, found = pipeline_manifest(target, manifest_dir, backend)
    if found is None:
        raise ConfigurationError(
            f"no manifest for pipeline module {target.name} at {resources.shown_path(path)}",
            hint=f"review and commit one: harness check {target.text} --update-manifests",
        )
    return found, load_manifest(found)


def _no_upstream(element: str) -> Callable[[str], Table]:
    def upstream(name: str) -> Table:
        raise ConfigurationError(
            f"{element}: its manifest references a mocked table {name}",
            hint="record the pipeline's manifest with harness check on the pipeline module",
        )

    return upstream


def plan_module(
    backend: Any,
    connection: Any,
    target: Target,
    manifest_file: Path,
    manifest: dict[str, Any],
    prefix: str,
) -> DeployPlan:
    """The pipeline's plan on the target (read-only)."""
    schemas = {stem: f"{prefix}{stem}" for stem in manifest.get("schemas", [])}
    expected = expected_tables(manifest, schemas, _no_upstream(target.name), target.name)
    live = {full_name(t): t for t in read_schemas(backend, connection, schemas.values())}
    present = existing_schemas(backend, connection, schemas.values())

    tables = []
    for table in creation_order(expected):
        found = live.get(full_name(table))
        if found is None:
            tables.append(TablePlan(table, CREATE, ddl=[NO_DDL]))
            continue
        changes = diff_manifests({"tables": [table.to_dict()]}, {"tables": [found.to_dict()]})
        tables.append(TablePlan(table, DRIFT if changes else MATCH, changes))
    names = {full_name(t) for t in expected}
    extra = [
        TablePlan(t, DRIFT, [Change("+", "table", name)])
        for name, t in sorted(live.items())
        if name not in names
    ]
    to_create = sorted(set(schemas.values()) - present)
    return DeployPlan(
        [
            ElementPlan(
                label=target.name,
                manifest=resources.shown_path(manifest_file),
                schemas_to_create=to_create,
                tables=tables,
                extra=extra,
                schema_ddl=[backend.create_schema_sql(schema) for schema in to_create],
            )
        ]
    )


def activate_module(
    server: ExternalTarget, target: Target, prefix: str, say: Callable[[str], None]
) -> str | None:
    """Import the pipeline module on the target as its user; the error text, or None."""
    say(f"importing {target.name} with prefix {prefix!r}")
    with compat.connected(
        server.host, server.port, server.user, server.password, server.backend, server.tls
    ):
        try:
            with imported_pipeline(target, prefix, timeout=ACTIVATE_TIMEOUT):
                pass
        except Exception as exc:
            failure = import_failure(exc, target, prefix)
            hint = (
                f"\n  hint: {failure.hint}"
                if failure.class_ == FailureClass.UNSUPPORTED_DATAJOINT
                else ""
            )
            return redact_text(f"importing {target.name} failed: {type(exc).__name__}: {exc}{hint}")
    return None


@dataclass
class _ModuleDeploy:
    """What every step of one ``harness deploy`` of a pipeline module needs."""

    args: argparse.Namespace
    target: Target
    server: ExternalTarget
    backend: Backend
    connection: Any
    manifest_file: Path
    manifest: dict[str, Any]
    prefix: str
    say: Callable[[str], None]

    def plan(self, backend: Backend | None = None, connection: Any = None) -> DeployPlan:
        """The plan on the target, or on the server behind ``connection`` (the copy)."""
        return plan_module(
            backend or self.backend,
            connection if connection is not None else self.connection,
            self.target,
            self.manifest_file,
            self.manifest,
            self.prefix,
        )

    @property
    def schemas(self) -> list[str]:
        return [f"{self.prefix}{stem}" for stem in self.manifest.get("schemas", [])]


def run_module_deploy(args: argparse.Namespace, manifest_dir: Path | None) -> int:
    """``harness deploy`` of a pipeline module; the exit status as for a pipeline spec."""

    def say(text: str) -> None:
        print(redact_text(text), flush=True)

    if args.out is not None or args.apply:
        raise ConfigurationError(
            "a pipeline module's plan cannot be saved and applied later: it holds no "
            "statements to review (they exist once the module is imported, on apply)",
            hint="plan with --plan, then apply with --apply (planned afresh under the lock)",
        )
    target = resolve_target(args.pipeline)
    assert target.pipeline is not None
    prefix = args.prefix if args.prefix is not None else default_prefix()
    server, connection = connect_target(args)
    backend = get_backend(server.backend)
    try:
        manifest_file, manifest = load_module_manifest(target, manifest_dir, server.backend)
        secured = f" ({server.tls.describe()})" if server.tls else ""
        say(
            f"pipeline module {target.name} ({target.pipeline}) with prefix {prefix!r} "
            f"on {server.display()}{secured}"
        )
        run = _ModuleDeploy(
            args, target, server, backend, connection, manifest_file, manifest, prefix, say
        )
        if args.apply is None:
            say(render_plan(run.plan(), ddl=not args.no_ddl))
            return EXIT_OK
        with deploy_lock(
            backend, lambda: connect(server, args.timeout), args.lock_timeout, server.display(), say
        ):
            return _apply(run)
    finally:
        connection.close()


def _apply(run: _ModuleDeploy) -> int:
    """Under the lock: plan afresh, refuse drift, rehearse, import on the target, verify."""
    say = run.say
    before = run.plan()
    say(render_plan(before, ddl=not run.args.no_ddl))
    live = {full_name(t): t for t in read_schemas(run.backend, run.connection, run.schemas)}
    blocking = refusal(before, live, run.args.allow_additive_drift)
    if blocking:
        say("refusing to apply: the target has drifted from the manifest:")
        for change in blocking:
            say(f"    {change.render()}")
        return EXIT_REFUSED
    error = None
    if before.nothing_to_do:
        say("apply: nothing to create")
    else:
        if run.args.rehearse:
            outcome = _rehearse(run, before)
            if not announce_rehearsal(outcome, say):
                return EXIT_REFUSED
            if refuse_changed_since_rehearsal(_outline_differences(before, run.plan()), say):
                return EXIT_REFUSED
        error = activate_module(run.server, run.target, run.prefix, say)
    after = run.plan()
    result = summarize(before, after, before.drift, error)
    print_result(result, say)
    if result.error is not None and after.all(CREATE):
        say("after: " + summary(after))
    return EXIT_OK if result.ok else EXIT_REFUSED


def _outline(plan: DeployPlan) -> set[str]:
    """What a module's plan says, table by table (it has no statements to compare)."""
    lines = {f"schema to create {schema}" for schema in plan.schemas_to_create}
    for element in plan.elements:
        lines.update(f"{t.status} {t.name}" for t in [*element.tables, *element.extra])
    return lines | {change.render() for change in plan.drift}


def _outline_differences(reviewed: DeployPlan, now: DeployPlan) -> list[str]:
    first, second = _outline(reviewed), _outline(now)
    return [f"was: {line}" for line in sorted(first - second)] + [
        f"now: {line}" for line in sorted(second - first)
    ]


def _rehearse(run: _ModuleDeploy, plan: DeployPlan) -> Rehearsal:
    """Import the module against a throwaway copy of the target, prefix set, and verify."""
    outcome = Rehearsal()
    schemas = referenced_schemas(run.schemas, plan)
    with target_copy(
        run.backend, run.connection, schemas, run.say, image=run.args.rehearse_image
    ) as copy:
        before = run.plan(copy.backend, copy.connection)
        differences = _outline_differences(plan, before)
        if differences:
            outcome.problem = unfaithful(differences)
            return outcome
        with failing_statements() as failed:
            error = activate_module(
                copy.target, run.target, run.prefix, lambda text: run.say(f"rehearsal: {text}")
            )
        if error is not None and failed:
            outcome.failed_statement = redact_text(failed[-1])
        after = run.plan(copy.backend, copy.connection)
        outcome.result = summarize(before, after, plan.drift, error)
    return outcome
