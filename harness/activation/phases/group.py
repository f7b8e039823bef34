"""One group of modules imported together, and the phases that activate it.

Alternative variants of an Element (``session`` and ``session_with_id``) cannot
share one import; each group is imported fresh, planned, linked and activated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.activation.discovery import LoadedModule
from harness.activation.linking import LinkingRequirements
from harness.activation.mocks import MockLinkingModule
from harness.activation.phases import activating, imports, mocking, planning
from harness.activation.phases.base import CheckContext, Timer
from harness.activation.plan import ActivationStep


@dataclass
class Group:
    """What the phases learn of one group; filled as far as they get."""

    modules: list[str]
    loaded: dict[str, LoadedModule] = field(default_factory=dict)
    requirements: LinkingRequirements | None = None
    steps: list[ActivationStep] = field(default_factory=list)
    mock: MockLinkingModule | None = None


def run_group(
    context: CheckContext,
    discovery: imports.Discovery,
    group: Group,
    data_root: Path,
    timer: Timer,
    *,
    record: bool = True,
) -> None:
    """Import, plan, link and activate ``group``; raises the first phase's ``PhaseFailed``.

    ``record`` is off for the reactivation, which must not list the calls twice.
    """
    imports.import_group(context, discovery, group.modules, group.loaded, timer)
    group.requirements, group.steps = planning.plan_group(
        context, discovery, group.modules, group.loaded, timer
    )
    group.mock = mocking.link(
        context, group.requirements, group.steps, group.loaded, data_root, timer, record=record
    )
    activating.activate(context, group.steps, group.loaded, group.mock, timer, record=record)
