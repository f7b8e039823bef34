"""Reactivate phase: activate everything again in fresh modules; the catalog must not change.

DataJoint does not migrate: activating a release against its own tables must be
a no-op, or a lab's second deploy would fail (or, worse, half-succeed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.activation.phases.base import CheckContext, PhaseFailed, Timer
from harness.activation.phases.group import Group, run_group
from harness.activation.phases.imports import Discovery
from harness.activation.scope import fresh_scope
from harness.db.catalog import Table
from harness.manifest import diff_manifests, render_diff

CHECK = "reactivation_idempotent"


class ReactivationFailed(PhaseFailed):
    """Activating again failed; ``catalog`` is what the server held afterwards."""

    def __init__(self, cause: PhaseFailed, catalog: list[Table]) -> None:
        super().__init__(cause.failure, cause.check)
        self.catalog = catalog

    def record(self, result: Any) -> None:
        super().record(result)
        result.add_check(CHECK, False, "activating again failed")


def reactivate(
    context: CheckContext, admin: Any, discovery: Discovery, data_root: Path, timer: Timer
) -> list[Table]:
    """Activate every group again; the catalog read afterwards (valid until caller code runs).

    The groups' own steps count as ``reactivate_s`` only, and their calls are not
    listed again.
    """
    backend = context.backend
    failed: PhaseFailed | None = None
    with timer("reactivate_s"):
        # Tables are dataclasses: equal exactly when their dicts are, and compared
        # without ``asdict`` (a deep copy of every attribute) unless they differ.
        first = backend.read_catalog(admin, context.prefix)
        try:
            for modules in discovery.groups():
                with fresh_scope(context.packages(), **context.scope_options):
                    run_group(
                        context, discovery, Group(modules), data_root, timer.quiet(), record=False
                    )
        except PhaseFailed as exc:
            failed = exc
        second = backend.read_catalog(admin, context.prefix)
    if failed is not None:
        raise ReactivationFailed(failed, second)
    if first != second:
        changes = diff_manifests(
            {"tables": [table.to_dict() for table in first]},
            {"tables": [table.to_dict() for table in second]},
        )
        context.result.add_check(
            CHECK, False, "activating again changed the catalog:\n" + render_diff(changes)
        )
    else:
        context.result.add_check(
            CHECK, True, "a second activation in fresh modules changed nothing"
        )
    return second
