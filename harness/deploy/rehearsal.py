"""Rehearse an apply on a throwaway copy of the target before touching the target.

A plan computed from the catalog cannot know everything the server will say to
its statements (a foreign-key constraint name already taken in the schema, a
setting that changes a default). So before the real apply, the same activation
runs against a throwaway container of the same backend (the harness's own
images, :mod:`harness.db.container`, labelled and swept like every harness
container), loaded with the target's current DDL of the affected schemas
(:meth:`~harness.db.backends.base.Backend.schema_ddl`: ``SHOW CREATE DATABASE``
/ ``SHOW CREATE TABLE`` on MySQL, statements built from the catalog on
PostgreSQL; no rows) and its server settings that shape a ``CREATE``; then the
same verification as the real apply. A failure names the statement the server
rejected; the target has not been touched. The container is removed on every
way out.

The copy is of the schema, not of the data or the privileges: what depends on
rows (none of apply's statements do; it only creates) or on the deploying
user's grants is not rehearsed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from harness.db.backends import get_backend
from harness.db.backends.base import Backend
from harness.db.container import ContainerServer, resolve_image, start_container_server
from harness.db.external import ExternalTarget
from harness.db.provider import default_image_for
from harness.db.sweep import sweep_containers
from harness.deploy.apply import ApplyResult, activate_pipeline, summarize
from harness.deploy.live import existing_schemas
from harness.deploy.pipeline import LoadedElement
from harness.deploy.planner import DeployPlan, compute_plan
from harness.deploy.saved_plan import plan_differences, reviewed_plan
from harness.errors import HarnessError
from harness.redact import redact_text
from harness.runinfo import LABEL_PREFIX, RunIdentity

#: Marks a rehearsal server among a run's containers.
LABEL_PURPOSE = f"{LABEL_PREFIX}.purpose"
PURPOSE = "deploy-rehearsal"
#: Seconds a rehearsal server may take to accept SQL.
STARTUP_TIMEOUT = 180.0


@dataclass
class Rehearsal:
    """What happened on the throwaway server."""

    result: ApplyResult | None = None
    #: The statement the server rejected, when one was.
    failed_statement: str | None = None
    #: A reason the rehearsal is not faithful (its plan differs from the target's).
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and self.result is not None and self.result.ok


def _minor(version: str) -> str:
    found = re.search(r"\d+\.\d+", version)
    return found.group(0) if found else version


@contextmanager
def failing_statements() -> Iterator[list[str]]:
    """Record every SQL statement DataJoint's connection sends that raises.

    DataJoint's errors carry the server's message but not the statement; the
    report must say which one the rehearsal server rejected. Only this process's
    own DataJoint is wrapped, only for the rehearsal, and the query still runs.
    """
    from datajoint.connection import Connection

    original = Connection.query
    failed: list[str] = []

    def query(self: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, sql, *args, **kwargs)
        except Exception:
            failed.append(sql)
            raise

    Connection.query = query  # type: ignore[method-assign]
    try:
        yield failed
    finally:
        Connection.query = original  # type: ignore[method-assign]


class RehearsalError(HarnessError):
    """The copy of the target could not be made; the target was not touched."""

    exit_code = 1


_WITHOUT = "or apply without rehearsal: --no-rehearse"


def _start(backend: Backend, image: str | None) -> ContainerServer:
    run = RunIdentity.new()
    try:
        sweep_containers(run)
        return start_container_server(
            backend,
            resolve_image(image or default_image_for(backend)),
            run,
            timeout=STARTUP_TIMEOUT,
            extra_labels={LABEL_PURPOSE: PURPOSE},
        )
    except HarnessError as exc:
        hint = f"{exc.hint}; {_WITHOUT}" if exc.hint else _WITHOUT
        raise type(exc)(f"cannot start the rehearsal server: {exc.message}", hint=hint) from None


def _target_ddl(backend: Backend, connection: Any, schemas: list[str]) -> list[str]:
    statements = []
    for schema in schemas:
        try:
            statements += backend.schema_ddl(connection, schema)
        except backend.driver_errors() as exc:
            raise RehearsalError(
                f"cannot read the DDL of schema {schema} on the target for the rehearsal: "
                f"{redact_text(str(exc))}",
                hint=f"the deploying user needs to see its tables (SELECT); {_WITHOUT}",
            ) from None
    return statements


def _load(backend: Backend, copy: Any, statements: list[str]) -> None:
    try:
        backend.load_ddl(copy, statements)
    except backend.driver_errors() as exc:
        raise RehearsalError(
            f"the rehearsal server did not accept the target's own DDL: {redact_text(str(exc))}",
            hint=f"give an image of the target's server version: --rehearse-image; {_WITHOUT}",
        ) from None


def _copy_settings(backend: Backend, target: Any, copy: Any) -> list[str]:
    try:
        return backend.copy_server_settings(target, copy)
    except backend.driver_errors() as exc:
        raise RehearsalError(
            f"the rehearsal server did not accept the target's settings: {redact_text(str(exc))}",
            hint=f"give an image of the target's server version: --rehearse-image; {_WITHOUT}",
        ) from None


@dataclass
class TargetCopy:
    """A throwaway server loaded with the target's affected schemas."""

    backend: Backend
    connection: Any
    #: The copy as a deploy target (its admin), for DataJoint's activation.
    target: ExternalTarget


@contextmanager
def target_copy(
    backend: Backend,
    connection: Any,
    schemas: list[str],
    say: Callable[[str], None],
    *,
    image: str | None = None,
) -> Iterator[TargetCopy]:
    """A copy of ``schemas`` (those that exist) of the target behind ``connection``,
    with its settings, on a container of the target's own flavour, removed on exit."""
    target_version = backend.server_version(connection)
    flavour = get_backend(backend.identify(target_version))
    present = sorted(existing_schemas(flavour, connection, schemas))
    statements = _target_ddl(flavour, connection, present)
    server = _start(flavour, image)
    info = server.info
    shown = info.image.name if info.image else "?"
    try:
        say(
            f"rehearsal: {flavour.name} {info.version} (image {shown}, throwaway container "
            f"{info.container_id[:12] if info.container_id else ''})"
        )
        if _minor(info.version) != _minor(target_version):
            say(
                f"rehearsal: note: the target runs {target_version}; choose a matching image "
                "with --rehearse-image"
            )
        copy = flavour.connect(info.host, info.port, info.admin_user, info.admin_password)
        try:
            settings = _copy_settings(flavour, connection, copy)
            _load(flavour, copy, statements)
            tables = sum(1 for s in statements if s.startswith("CREATE TABLE"))
            say(
                f"rehearsal: loaded the target's DDL of {len(present)} schema(s), "
                f"{tables} table(s); settings copied: {', '.join(settings) or '-'}"
            )
            target = ExternalTarget(
                backend=flavour.name,
                host=info.host,
                port=info.port,
                user=info.admin_user,
                password=info.admin_password,
                origin="rehearsal",
            )
            yield TargetCopy(flavour, copy, target)
        finally:
            copy.close()
    finally:
        server.stop()


def unfaithful(differences: list[str]) -> str:
    """Why a copy whose plan differs from the target's rehearses nothing."""
    return (
        "the copy's plan differs from the target's, so this plan would not be "
        f"rehearsed ({'; '.join(differences)}); can the deploying user read every "
        "affected schema?"
    )


def rehearse(
    backend: Backend,
    connection: Any,
    elements: list[LoadedElement],
    plan: DeployPlan,
    schemas: list[str],
    say: Callable[[str], None],
    *,
    image: str | None = None,
) -> Rehearsal:
    """Apply ``plan`` (computed on the target behind ``connection``) on a throwaway copy.

    ``schemas`` are the affected schemas (:func:`~harness.deploy.fingerprint.affected_schemas`);
    ``elements`` are activated against the copy, so the real apply imports them afresh.
    """
    outcome = Rehearsal()
    with target_copy(backend, connection, schemas, say, image=image) as copy:
        before = compute_plan(copy.backend, copy.connection, elements)
        differences = plan_differences(
            reviewed_plan(plan, elements), reviewed_plan(before, elements)
        )
        if differences:
            outcome.problem = unfaithful(differences)
            return outcome
        with failing_statements() as failed:
            error = activate_pipeline(copy.target, elements, lambda text: say(f"rehearsal: {text}"))
        if error is not None and failed:
            outcome.failed_statement = redact_text(failed[-1])
        after = compute_plan(copy.backend, copy.connection, elements)
        outcome.result = summarize(before, after, plan.drift, error)
    return outcome


def announce_rehearsal(outcome: Rehearsal, say: Callable[[str], None]) -> bool:
    """Say how the rehearsal went, as every kind of apply does; whether it passed."""
    if not outcome.ok:
        for line in render_rehearsal(outcome):
            say(line)
        say("refusing to apply: nothing was changed on the target")
        return False
    created = len(outcome.result.created_tables) if outcome.result else 0
    say(f"rehearsal passed: {created} table(s) created and verified on the copy")
    return True


def refuse_changed_since_rehearsal(differences: list[str], say: Callable[[str], None]) -> bool:
    """Refuse the apply when the target's plan changed while the copy was rehearsed.

    Whether it was refused; the differences are said first.
    """
    if not differences:
        return False
    say("refusing to apply: the target changed during the rehearsal, outside harness:")
    for line in differences:
        say(f"    {line}")
    say("nothing was changed; plan again")
    return True


def render_rehearsal(outcome: Rehearsal) -> list[str]:
    """The lines a failed rehearsal adds to the output."""
    lines = ["rehearsal FAILED: the plan did not apply cleanly on the copy of the target"]
    if outcome.problem:
        lines.append(f"    {outcome.problem}")
    result = outcome.result
    if outcome.failed_statement:
        lines.append("    statement the server rejected:")
        lines += [f"        {line}" for line in outcome.failed_statement.strip().splitlines()]
    if result is not None and result.error:
        first, *rest = result.error.strip().splitlines()
        lines.append(f"    error: {first}")
        lines += [f"        {line}" for line in rest if line.strip()]
    if result is not None and result.remaining:
        lines.append(f"    verification on the copy: {len(result.remaining)} difference(s)")
        if result.error is None:  # after an error, the rest of the plan simply did not run
            lines += [f"        {line}" for line in result.remaining]
    return lines
