"""Mock phase: the synthesized linking module, and the real upstream Elements a spec names.

Upstream names come, in order of preference, from the spec's ``[upstream]``
(a real Element activated first), from the Element itself (a table another of
its modules, activated earlier in this check, defines), else from a mock table.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from harness.activation.discovery import (
    LoadedModule,
    load_module,
    package_locations,
    package_sources,
)
from harness.activation.linking import LinkingRequirements, analyze, element_upstream
from harness.activation.mocks import MockLinkingModule, synthesize, upstream_sources
from harness.activation.phases.base import (
    MOCK_STEM,
    UPSTREAM_STEM_PREFIX,
    CheckContext,
    PhaseFailed,
    Timer,
)
from harness.activation.plan import ActivationStep, activation_positions, step_from_signature


def link(
    context: CheckContext,
    requirements: LinkingRequirements,
    steps: list[ActivationStep],
    loaded: dict[str, LoadedModule],
    data_root: Path,
    timer: Timer,
    *,
    record: bool = True,
) -> MockLinkingModule:
    """The linking module of one group; where each upstream came from is recorded."""
    target = context.target
    assert context.namespace is not None
    with timer("mock_s"):
        try:
            from_spec = _activate_upstream(context, data_root, record)
            from_element = element_upstream(
                requirements,
                loaded,
                activation_positions(steps),
                exclude={*target.mock_tables, *from_spec},
            )
            mock = synthesize(
                requirements,
                schema_name=context.namespace.schema(MOCK_STEM),
                data_root=data_root,
                definitions=target.mock_tables,
                extra_functions=target.mock_functions,
                provided={**context.own_modules(), **from_element, **from_spec},
                declared=context.mocks,
            )
        except Exception as exc:
            failure = context.classify(exc, phase="activate", module="(mock linking module)")
            raise PhaseFailed(failure, "activated") from None
    result = context.result
    result.mocked_tables.update(mock.tables)
    result.mocked_functions = sorted(set(result.mocked_functions) | set(mock.functions))
    result.upstream.update(upstream_sources(mock.tables, from_element, target.upstream))
    return mock


def _activate_upstream(context: CheckContext, data_root: Path, record: bool) -> dict[str, Any]:
    """Activate the real Elements the spec takes upstream tables from; return those tables.

    ``[upstream] Subject = "element_animal.subject.Subject"`` activates
    ``element_animal.subject`` first, in this namespace (schema stems prefixed
    ``up_`` so they cannot collide with the Element's own), with its own needs
    mocked, and hands its ``Subject`` to the linking module instead of a mock.
    """
    provided: dict[str, Any] = {}
    by_module: dict[str, dict[str, str]] = {}
    for name, path in context.target.upstream.items():
        module_path, _, attribute = path.rpartition(".")
        by_module.setdefault(module_path, {})[name] = attribute
    for module_path, names in by_module.items():
        module = sys.modules.get(module_path)
        if module is None or not getattr(module, "_harness_upstream_active", False):
            module = _activate_one_upstream(context, module_path, data_root, record)
        for name, attribute in names.items():
            provided[name] = getattr(module, attribute)
    return provided


def _activate_one_upstream(
    context: CheckContext, module_path: str, data_root: Path, record: bool
) -> Any:
    assert context.namespace is not None
    package = module_path.split(".")[0]
    sources = {
        source.name: source for source in package_sources(package, package_locations(package))
    }
    loaded = load_module(sources[module_path])
    mock = synthesize(
        analyze([loaded]),
        schema_name=context.namespace.schema(MOCK_STEM),
        data_root=data_root,
        provided=context.own_modules(),
        declared=context.mocks,
    )
    step = step_from_signature(module_path, loaded.module.activate, [])
    step.schema_stems = {
        key: f"{UPSTREAM_STEM_PREFIX}{stem}" for key, stem in step.schema_stems.items()
    }
    args, kwargs = step.arguments(context.prefix, mock.module)
    loaded.module.activate(*args, **kwargs)
    loaded.module._harness_upstream_active = True
    context.result.mocked_tables.update(mock.tables)
    context.result.upstream.update(upstream_sources(mock.tables, {}, {}))
    if record:
        context.result.activations.append(
            {
                "module": module_path,
                "function": "activate",
                "covers": [],
                "upstream": True,
                "schemas": {name: context.schema(stem) for name, stem in step.schema_stems.items()},
            }
        )
    return loaded.module
