"""Plan phase: what the linking module must provide, and which ``activate`` calls to make."""

from __future__ import annotations

from harness.activation.discovery import LoadedModule
from harness.activation.failures import Failure, FailureClass
from harness.activation.linking import LinkingRequirements, analyze
from harness.activation.phases.base import CheckContext, PhaseFailed, Timer
from harness.activation.phases.imports import Discovery
from harness.activation.plan import ActivationStep, PlanError, build_steps


def _requirements(context: CheckContext, loaded: dict[str, LoadedModule]) -> LinkingRequirements:
    """The linking module's needs; the linking functions are recorded in the result."""
    requirements = analyze(loaded.values())
    functions = context.result.linking_functions
    functions["required"] = sorted(
        set(functions.get("required", [])) | requirements.required_functions
    )
    functions["optional"] = sorted(
        set(functions.get("optional", [])) | requirements.optional_functions
    )
    if not requirements.broken:
        return requirements
    broken = requirements.broken[0]
    file, line = broken.table.source_line(broken.reference.line)
    failure = Failure(
        FailureClass.UNRESOLVED_REFERENCE,
        f"{broken.table.module}.{broken.table.name}: reference {broken.reference.target!r} "
        f"cannot resolve ({broken.reason})",
        module=broken.table.module,
        table=broken.table.name,
        file=file,
        line=line,
        hint="fix the reference or define the table it names",
    )
    raise PhaseFailed(failure, "references_resolved")


def plan_group(
    context: CheckContext,
    discovery: Discovery,
    group: list[str],
    loaded: dict[str, LoadedModule],
    timer: Timer,
) -> tuple[LinkingRequirements, list[ActivationStep]]:
    """The group's linking needs and activation steps; schema names checked for length."""
    with timer("plan_s"):
        requirements = _requirements(context, loaded)
        try:
            steps = build_steps(
                {name: item.module for name, item in loaded.items()},
                group,
                discovery.covers,
                context.target.activations,
            )
        except PlanError as exc:
            failure = Failure(
                FailureClass.ACTIVATION_ERROR,
                str(exc),
                module=group[0],
                hint="give the argument in the spec: [[activate]] "
                "module = ... with [activate.args]",
            )
            raise PhaseFailed(failure, "activated") from None
    backend = context.backend
    too_long = [
        context.schema(stem)
        for step in steps
        for stem in step.schema_stems.values()
        if len(context.schema(stem)) > backend.max_schema_name
    ]
    if too_long:
        failure = Failure(
            FailureClass.ACTIVATION_ERROR,
            f"schema name {too_long[0]!r} ({len(too_long[0])} characters) is longer than "
            f"{backend.name} allows ({backend.max_schema_name})",
            module=group[0],
            hint="give a shorter stem in the spec: [[activate]] with [activate.args]",
        )
        raise PhaseFailed(failure, "activated")
    return requirements, steps
