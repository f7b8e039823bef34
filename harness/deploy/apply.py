"""Apply a plan: activate the pipeline on the target, then verify what it holds.

Apply only ever does what DataJoint's own activation does with
``create_tables=True``: ``CREATE DATABASE`` / ``CREATE TABLE`` for what is
missing (and the contents of Lookup tables, inserted skipping duplicates). It
never drops, alters or deletes. It refuses to start when the target has
drifted from the manifests (unless the drift is additive and the lab allowed
it), because activating over drift produces a pipeline whose inserts fail
later. Every table DataJoint creates is one committed statement, so a failure
part way leaves complete tables only; the result names them, and the next plan
shows what remains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.activation import compat
from harness.activation.calls import call_step
from harness.db.external import ExternalTarget
from harness.deploy.pipeline import LoadedElement
from harness.deploy.planner import CREATE, MATCH, DeployPlan, is_additive
from harness.manifest import Change
from harness.redact import redact_text

#: Seconds one ``activate`` call may take (a large pipeline on a slow server).
ACTIVATE_TIMEOUT = 600.0


@dataclass
class ApplyResult:
    """What apply did and what the target holds afterwards."""

    created_schemas: list[str] = field(default_factory=list)
    created_tables: list[str] = field(default_factory=list)
    error: str | None = None
    #: Differences left after apply: tables still missing, drift not allowed.
    remaining: list[str] = field(default_factory=list)
    verified: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None and not self.remaining


def refusal(plan: DeployPlan, live: dict[str, Any], allow_additive: bool) -> list[Change]:
    """The drift that forbids applying (empty: apply may go ahead)."""
    drift = plan.drift
    if allow_additive:
        return [change for change in drift if not is_additive(change, live)]
    return drift


def _activate(element: LoadedElement) -> None:
    for step in element.steps:
        module = element.loaded[step.module].module
        call_step(step, module, element.schemas, element.linking, timeout=ACTIVATE_TIMEOUT)


def activate_pipeline(
    target: ExternalTarget, elements: list[LoadedElement], say: Callable[[str], None]
) -> str | None:
    """Activate every Element in order as the target's user; the error text, or None."""
    with compat.connected(
        target.host, target.port, target.user, target.password, target.backend, target.tls
    ):
        for element in elements:
            say(f"activating {element.label}")
            try:
                _activate(element)
            except Exception as exc:
                return redact_text(f"activating {element.label} failed: {exc}")
    return None


def summarize(
    before: DeployPlan, after: DeployPlan, allowed: list[Change], error: str | None
) -> ApplyResult:
    """Compare the plans before and after activation: created, remaining, verified."""
    missing_before = {t.name for t in before.all(CREATE)}
    missing_after = {t.name for t in after.all(CREATE)}
    allowed_lines = {change.render() for change in allowed}
    result = ApplyResult(
        created_schemas=sorted(set(before.schemas_to_create) - set(after.schemas_to_create)),
        created_tables=sorted(missing_before - missing_after),
        error=error,
    )
    result.remaining = [f"- table {name} (not created)" for name in sorted(missing_after)]
    result.remaining += [
        change.render() for change in after.drift if change.render() not in allowed_lines
    ]
    result.verified = len(after.all(MATCH))
    return result
