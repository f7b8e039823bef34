"""Activate phase: the planned ``activate`` calls, each with a deadline, as the namespace user."""

from __future__ import annotations

from harness.activation.calls import call_step
from harness.activation.discovery import LoadedModule
from harness.activation.mocks import MockLinkingModule
from harness.activation.phases.base import CheckContext, PhaseFailed, Timer
from harness.activation.plan import ActivationStep


def activate(
    context: CheckContext,
    steps: list[ActivationStep],
    loaded: dict[str, LoadedModule],
    mock: MockLinkingModule,
    timer: Timer,
    *,
    record: bool = True,
) -> None:
    """Call each step in order; the first that raises (or hangs) fails the phase."""
    with timer("activate_s"):
        for step in steps:
            schemas = {stem: context.schema(stem) for stem in step.schema_stems.values()}
            if record:
                context.result.activations.append(
                    {
                        "module": step.module,
                        "function": step.function,
                        "covers": list(step.covers),
                        "schemas": {
                            name: schemas[stem] for name, stem in step.schema_stems.items()
                        },
                    }
                )
            try:
                call_step(
                    step,
                    loaded[step.module].module,
                    schemas,
                    mock.module,
                    timeout=context.timeout,
                    on_timeout=context.end_sessions,
                )
            except Exception as exc:
                failure = context.classify(
                    exc, phase="activate", module=step.module, linking_module=mock.module
                )
                raise PhaseFailed(failure, "activated") from None
