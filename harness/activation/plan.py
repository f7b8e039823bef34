"""Which ``activate`` calls to make, in which order, with which arguments.

Read from the Element, not assumed: each module's ``activate`` signature says
which schema names and whether a linking module it takes, and its body (AST)
says which other modules of the Element it activates itself (``trial.activate``
calls ``event.activate``), so those are not activated twice. A spec may
override any step.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness.activation.discovery import ModuleSource
from harness.activation.linking import defined_classes, linking_names

if TYPE_CHECKING:
    from harness.elements.spec import ActivateOverride


LINKING_PARAMETER = "linking_module"
SCHEMA_SUFFIX = "schema_name"


class PlanError(Exception):
    """The plan cannot be made from the Element alone; the message says what to add."""


class MissingFunction(PlanError):
    """A module to activate has no such function (a spec names one the module lacks)."""


@dataclass
class ActivationStep:
    module: str
    function: str = "activate"
    covers: tuple[str, ...] = ()
    #: Keyword arguments with schema names still as stems (prefixed at call time).
    schema_stems: dict[str, str] = field(default_factory=dict)
    literal_args: dict[str, Any] = field(default_factory=dict)
    takes_linking_module: bool = False
    #: Parameters that must be passed positionally (positional-only in the signature).
    positional: tuple[str, ...] = ()

    def arguments(self, prefix: str, linking_module: Any) -> tuple[list[Any], dict[str, Any]]:
        """Positional and keyword arguments for the call inside namespace ``prefix``."""
        schemas = {stem: f"{prefix}_{stem}" for stem in self.schema_stems.values()}
        return self.bind(schemas, linking_module)

    def bind(
        self, schemas: Mapping[str, str], linking_module: Any
    ) -> tuple[list[Any], dict[str, Any]]:
        """Positional and keyword arguments with each schema stem named by ``schemas``.

        A check names them inside its namespace (:meth:`arguments`); a deploy by the
        pipeline's schema names.
        """
        values: dict[str, Any] = dict(self.literal_args)
        values.update({name: schemas[stem] for name, stem in self.schema_stems.items()})
        if self.takes_linking_module:
            values[LINKING_PARAMETER] = linking_module
        positional = [values.pop(name) for name in self.positional if name in values]
        return positional, values


def _module_aliases(source: ModuleSource, package: str) -> dict[str, str]:
    """Names bound at module level to other modules of the same package."""
    aliases: dict[str, str] = {}
    base = source.name.rsplit(".", 1)[0] if "." in source.name else source.name
    is_package_init = source.path.name == "__init__.py"
    if is_package_init:
        base = source.name
    for statement in source.tree.body:
        if isinstance(statement, ast.ImportFrom):
            if statement.level:
                parts = base.split(".")
                anchor = ".".join(parts[: len(parts) - (statement.level - 1)])
                origin = f"{anchor}.{statement.module}" if statement.module else anchor
            else:
                origin = statement.module or ""
            if not origin.startswith(package):
                continue
            for alias in statement.names:
                aliases[alias.asname or alias.name] = f"{origin}.{alias.name}"
        elif isinstance(statement, ast.Import):
            for alias in statement.names:
                if alias.name.startswith(package + "."):
                    aliases[alias.asname or alias.name.split(".")[-1]] = alias.name
    return aliases


def activated_modules(source: ModuleSource, package: str, function: str = "activate") -> list[str]:
    """Modules whose ``activate`` (or schema's ``activate``) the given function calls."""
    aliases = _module_aliases(source, package)
    covered: list[str] = []
    for statement in source.tree.body:
        if isinstance(statement, ast.FunctionDef) and statement.name == function:
            for node in ast.walk(statement):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "activate"
                ):
                    owner = node.func.value
                    if isinstance(owner, ast.Attribute):  # module.schema.activate(...)
                        owner = owner.value
                    if isinstance(owner, ast.Name) and owner.id in aliases:
                        target = aliases[owner.id]
                        if target != source.name and target not in covered:
                            covered.append(target)
    return covered


def _leaf(module: str) -> str:
    return module.rsplit(".", 1)[-1]


def step_from_signature(
    module: str,
    function: Callable[..., Any],
    covers: Sequence[str],
    override: ActivateOverride | None = None,
) -> ActivationStep:
    """An activation step for ``function``, arguments derived from its signature."""
    step = ActivationStep(
        module=module, function=getattr(function, "__name__", "activate"), covers=tuple(covers)
    )
    overrides: Mapping[str, Any] = override.args if override else {}
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError) as exc:
        raise PlanError(f"cannot read the signature of {module}.{step.function}: {exc}") from None
    first_schema = True
    for parameter in parameters:
        name = parameter.name
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.kind is parameter.POSITIONAL_ONLY:
            step.positional += (name,)
        if name in overrides:
            value = overrides[name]
            if name.endswith(SCHEMA_SUFFIX) and isinstance(value, str):
                step.schema_stems[name] = value
            else:
                step.literal_args[name] = value
        elif name.endswith(SCHEMA_SUFFIX):
            stem = _leaf(module) if first_schema else name[: -len(SCHEMA_SUFFIX)].rstrip("_")
            step.schema_stems[name] = stem or _leaf(module)
        elif name == LINKING_PARAMETER:
            step.takes_linking_module = True
        elif name in {"create_schema", "create_tables"}:
            step.literal_args[name] = True
        elif parameter.default is parameter.empty:
            raise PlanError(
                f"{module}.{step.function}() takes a required parameter {name!r} the harness "
                "cannot choose",
                # The hint is shown by the caller with the spec key to set.
            )
        if name.endswith(SCHEMA_SUFFIX):
            first_schema = False
    return step


def build_steps(
    modules: Mapping[str, Any],
    chosen: Sequence[str],
    covers: Mapping[str, Sequence[str]],
    overrides: Sequence[ActivateOverride] = (),
) -> list[ActivationStep]:
    """The activation steps of the ``chosen`` modules, imported as ``modules`` (name -> module).

    The one builder behind ``harness check``, ``harness deploy`` and the pytest
    fixtures, so that what a deploy activates is what the check activated. A spec's
    ``[[activate]]`` override names the function, what it covers and arguments.
    Raises :class:`PlanError` when a step cannot be made from the Element alone.
    """
    by_module = {override.module: override for override in overrides}
    steps = []
    for module in chosen:
        override = by_module.get(module)
        function_name = override.function if override else "activate"
        function = getattr(modules[module], function_name, None)
        if function is None:
            raise MissingFunction(f"{module} has no function {function_name}()")
        covered = (
            list(override.covers)
            if override and override.covers
            else covered_closure(covers, module)
        )
        steps.append(step_from_signature(module, function, covered, override))
    return steps


def import_order(chosen: Sequence[str], covers: Mapping[str, Sequence[str]]) -> list[str]:
    """The modules to import for ``chosen``: each after those its ``activate`` covers."""
    order: list[str] = []
    for module in chosen:
        for dependency in [*reversed(covered_closure(covers, module)), module]:
            if dependency not in order:
                order.append(dependency)
    return order


def choose_modules(
    sources: Mapping[str, ModuleSource], package: str, requested: Sequence[str]
) -> tuple[list[str], dict[str, list[str]]]:
    """Modules to activate directly, and what each one's activate covers.

    Without a request: every module with a deferred schema and an ``activate``
    that no other such module activates itself.
    """
    covers = {
        name: activated_modules(source, package)
        for name, source in sources.items()
        if source.has_activate
    }
    if requested:
        return list(requested), covers
    covered_by_others = {target for targets in covers.values() for target in targets}
    chosen = [
        name
        for name, source in sorted(sources.items())
        if source.deferred_schemas and source.has_activate and name not in covered_by_others
    ]
    return chosen, covers


def imported_modules(source: ModuleSource, package: str) -> set[str]:
    """Modules of the same package that ``source`` imports at module level."""
    return {
        target.rsplit(".", 1)[0] if target.rsplit(".", 1)[0] != package else target
        for target in _module_aliases(source, package).values()
    } | set(_module_aliases(source, package).values())


def order_by_imports(
    chosen: Sequence[str], sources: Mapping[str, ModuleSource], package: str
) -> list[str]:
    """Activate a module after the chosen modules it imports (``bossdb`` after ``volume``).

    A module that imports another refers to its tables, which DataJoint can only
    use once they are declared. Cycles keep their given order.
    """
    remaining = list(chosen)
    ordered: list[str] = []
    while remaining:
        for name in remaining:
            source = sources.get(name)
            needs = imported_modules(source, package) if source is not None else set()
            if source is not None:
                # `analysis.activate` wants the pipeline's `imaging` module from its linking
                # module: activate `imaging` first and hand over the real one.
                wanted = linking_names(source.tree) - defined_classes(source.tree)
                needs |= {other for other in remaining if _leaf(other) in wanted}
                # `project` wants `Lab`, which `lab` defines: activate `lab` first, so the
                # real table can stand in for a mock.
                needs |= {
                    other
                    for other in remaining
                    if other in sources and wanted & defined_classes(sources[other].tree)
                }
            if not any(other in needs for other in remaining if other != name):
                break
        else:
            name = remaining[0]
        remaining.remove(name)
        ordered.append(name)
    return ordered


def covered_closure(covers: Mapping[str, Sequence[str]], start: str) -> list[str]:
    """Every module ``start``'s activate activates, directly or through others."""
    seen: list[str] = []
    stack = list(covers.get(start, []))
    while stack:
        module = stack.pop(0)
        if module not in seen and module != start:
            seen.append(module)
            stack.extend(covers.get(module, []))
    return seen


def activation_groups(
    chosen: Sequence[str], covers: Mapping[str, Sequence[str]]
) -> list[list[str]]:
    """Split the modules to activate into groups that can share one import of the Element.

    Two modules whose activations overlap (both activate ``probe``, or ``scan``) are
    variants of one Element (``ephys_acute`` / ``ephys_chronic``): a schema object
    can be activated once per import, so each variant gets a fresh import of its own.
    """
    groups: list[tuple[list[str], set[str]]] = []
    for module in chosen:
        span = {module, *covered_closure(covers, module)}
        for members, covered in groups:
            if not covered & span:
                members.append(module)
                covered |= span
                break
        else:
            groups.append(([module], span))
    return [members for members, _ in groups]


def activation_positions(steps: Sequence[ActivationStep]) -> dict[str, int]:
    """The position of the activation that declares each module (its own, or a coverer's)."""
    positions: dict[str, int] = {}
    for index, step in enumerate(steps):
        positions.setdefault(step.module, index)
        for covered in step.covers:
            positions.setdefault(covered, index)
    return positions
