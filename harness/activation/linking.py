"""What an Element expects from its linking module.

Two sources, because neither alone is complete:

* the definitions queued in each deferred schema name the upstream tables
  (``-> Session``) that the Element does not define itself;
* the module source (AST) shows the functions the Element reads from the
  linking module: ``_linking_module.get_x(...)``, ``hasattr(linking_module,
  "get_x")`` (optional when used as a condition, required in an assert) and
  ``getattr(linking_module, "get_x"[, default])``.
"""

from __future__ import annotations

import ast
import functools
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.activation.discovery import LoadedModule, QueuedTable
from harness.activation.references import Reference, parse_references

#: Names under which Elements keep or receive their linking module.
LINKING_NAMES = frozenset({"linking_module", "_linking_module"})


@dataclass
class UpstreamTable:
    """A table the Element references but does not define: the linking module's job."""

    name: str
    #: Module-like namespace it is reached through (``subject`` in ``subject.Subject``).
    namespace: str | None = None
    demanded_attributes: set[str] = field(default_factory=set)
    #: Part tables referenced below it (``-> probe.ProbeType.Electrode``) and their demands.
    parts: dict[str, set[str]] = field(default_factory=dict)
    used_by: list[str] = field(default_factory=list)

    @property
    def qualified(self) -> str:
        return f"{self.namespace}.{self.name}" if self.namespace else self.name


def split_reference(target: str) -> tuple[str | None, str, str | None]:
    """``probe.ProbeType.Electrode`` -> (``probe``, ``ProbeType``, ``Electrode``).

    Lower-case components before the first capitalised one are the namespace
    (a module), the first capitalised one is the table, one more is a part.
    """
    components = target.split(".")
    index = next(
        (i for i, part in enumerate(components) if part[:1].isupper()), len(components) - 1
    )
    namespace = ".".join(components[:index]) or None
    part = components[index + 1] if index + 1 < len(components) else None
    return namespace, components[index], part


@dataclass
class BrokenReference:
    """A reference into the Element itself that cannot resolve (a real bug)."""

    table: QueuedTable
    reference: Reference
    reason: str


@dataclass
class LinkingRequirements:
    """Everything the synthesized linking module must provide."""

    tables: dict[str, UpstreamTable] = field(default_factory=dict)
    required_functions: set[str] = field(default_factory=set)
    optional_functions: set[str] = field(default_factory=set)
    broken: list[BrokenReference] = field(default_factory=list)

    @property
    def functions(self) -> set[str]:
        return self.required_functions | self.optional_functions


def _resolve_inside(context: dict[str, object], dotted: str) -> tuple[str, str | None]:
    """How ``dotted`` resolves in the Element's own context (module globals).

    Returns (``"outside"``, None) when the head is not there (the linking
    module's job), (``"placeholder"``, None) when it is a ``None`` the Element
    fills in during ``activate``, (``"inside"``, problem) otherwise: a missing
    attribute below a real object is a bug in the Element, not something a mock
    should paper over.
    """
    head, *rest = dotted.split(".")
    if head not in context:
        return "outside", None
    value: object = context[head]
    if value is None:
        return "placeholder", None
    walked = head
    for attribute in rest:
        if not hasattr(value, attribute):
            return "inside", f"{walked!r} has no attribute {attribute!r}"
        value = getattr(value, attribute)
        walked += f".{attribute}"
    return "inside", None


def linking_assignments(tree: ast.AST) -> Mapping[str, str]:
    """Globals an Element sets from its linking module: ``probe = _linking_module.probe``."""
    return _facts(tree).assignments


def analyze_tables(
    tables: Iterable[QueuedTable],
    requirements: LinkingRequirements,
    from_linking: Mapping[str, str] | None = None,
) -> None:
    """Add the upstream tables referenced by ``tables`` to ``requirements``.

    ``from_linking`` maps module globals the Element assigns from its linking
    module during ``activate`` (placeholders until then) to the linking
    attribute they come from; references through them are mocked too.
    """
    from_linking = from_linking or {}
    for table in tables:
        for reference in parse_references(table.definition):
            if reference.head in {"master", "self"}:
                continue
            # Resolved like DataJoint does: in the module's globals (which hold the
            # Element's own classes), so a part named like an upstream table (a part
            # `Allele.Source` referencing `-> Source`) still points upstream.
            where, problem = _resolve_inside(table.context, reference.target)
            target = reference.target
            if where == "inside":
                if problem:
                    requirements.broken.append(BrokenReference(table, reference, problem))
                continue
            if where == "placeholder":
                if reference.head not in from_linking:
                    continue  # filled in by activate() from something other than linking
                linked = from_linking[reference.head]
                target = ".".join([linked, *target.split(".")[1:]])
            namespace, name, part = split_reference(target)
            key = f"{namespace}.{name}" if namespace else name
            upstream = requirements.tables.setdefault(key, UpstreamTable(name, namespace))
            if part is None:
                upstream.demanded_attributes.update(reference.demanded_attributes)
            else:
                upstream.parts.setdefault(part, set()).update(reference.demanded_attributes)
            upstream.used_by.append(f"{table.module}.{table.name}")


@dataclass(frozen=True)
class LinkingUses:
    """What one module reads from its linking module, by name."""

    required: frozenset[str]
    optional: frozenset[str]
    tables: frozenset[str]


@dataclass(frozen=True)
class _TreeFacts:
    """What the linking analysis reads from one module's syntax tree."""

    assignments: Mapping[str, str]
    uses: LinkingUses
    heads: frozenset[str]


def _is_linking(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in LINKING_NAMES


def _linking_probe(node: ast.Call) -> str | None:
    """The name in ``hasattr(linking_module, "x")`` / ``getattr(linking_module, "x"...)``."""
    func = node.func
    if (
        isinstance(func, ast.Name)
        and func.id in {"hasattr", "getattr"}
        and len(node.args) >= 2
        and _is_linking(node.args[0])
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
    ):
        return node.args[1].value
    return None


class _Uses:
    """Linking attribute names as they are found: tables, required and optional functions."""

    def __init__(self) -> None:
        self.required: set[str] = set()
        self.optional: set[str] = set()
        self.tables: set[str] = set()

    def record(self, name: str, required: bool) -> None:
        if name.startswith("__"):
            return
        if name[:1].isupper():
            self.tables.add(name)
        elif required:
            self.required.add(name)
        else:
            self.optional.add(name)

    def frozen(self) -> LinkingUses:
        return LinkingUses(
            frozenset(self.required), frozenset(self.optional), frozenset(self.tables)
        )


def _assigned_from_linking(node: ast.Assign, found: dict[str, str]) -> None:
    def record(target: ast.expr, value: ast.expr) -> None:
        if (
            isinstance(target, ast.Name)
            and isinstance(value, ast.Attribute)
            and _is_linking(value.value)
        ):
            found[target.id] = value.attr

    for target in node.targets:
        if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
            for element, value in zip(target.elts, node.value.elts, strict=False):
                record(element, value)
        else:
            record(target, node.value)


def _definition_text(node: ast.Assign) -> str | None:
    """The string of ``definition = "..."``, else None."""
    named = any(
        isinstance(target, ast.Name) and target.id == "definition" for target in node.targets
    )
    value = node.value
    if named and isinstance(value, ast.Constant) and isinstance(value.value, str):
        return value.value
    return None


@functools.lru_cache(maxsize=512)
def _facts(tree: ast.AST) -> _TreeFacts:
    """One walk of ``tree`` for everything the linking analysis asks of it.

    Trees are parsed once per check but read by several phases (the order of
    activation, each group's plan, the reactivation's plan), so what is learnt is
    kept for as long as the tree lives (trees hash by identity). A ``hasattr`` probe
    inside an ``assert`` makes the name required; elsewhere it is optional, as is a
    ``getattr`` with a default.
    """
    in_assert = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assert)
        for inner in ast.walk(node.test)
    }
    assignments: dict[str, str] = {}
    uses = _Uses()
    heads: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if _is_linking(node.value) and isinstance(node.ctx, ast.Load):
                uses.record(node.attr, required=True)
        elif isinstance(node, ast.Call):
            name = _linking_probe(node)
            if name is not None:
                if getattr(node.func, "id", "") == "hasattr":
                    uses.record(name, required=id(node) in in_assert)
                else:
                    uses.record(name, required=len(node.args) == 2)
        elif isinstance(node, ast.Assign):
            _assigned_from_linking(node, assignments)
            text = _definition_text(node)
            if text is not None:
                heads |= {reference.head for reference in parse_references(text)}
    return _TreeFacts(types.MappingProxyType(assignments), uses.frozen(), frozenset(heads))


def linking_uses(tree: ast.AST) -> LinkingUses:
    """The linking attributes ``tree`` reads: functions required or probed, and tables."""
    return _facts(tree).uses


def analyze_source(trees: Iterable[ast.AST], requirements: LinkingRequirements) -> None:
    """Add the linking functions read in ``trees`` to ``requirements``."""
    required: set[str] = set()
    optional: set[str] = set()
    tables: set[str] = set()
    for tree in trees:
        uses = linking_uses(tree)
        required |= uses.required
        optional |= uses.optional
        tables |= uses.tables
    # A name probed with hasattr/getattr-with-default anywhere is optional even if
    # it is also called directly elsewhere (behind that probe).
    requirements.optional_functions |= optional
    requirements.required_functions |= required - optional
    for name in tables:
        requirements.tables.setdefault(name, UpstreamTable(name))


def analyze(modules: Iterable[LoadedModule]) -> LinkingRequirements:
    """The linking requirements of a set of loaded Element modules."""
    modules = list(modules)
    requirements = LinkingRequirements()
    for loaded in modules:
        analyze_tables(loaded.tables, requirements, linking_assignments(loaded.source.tree))
    for loaded in modules:
        # Capitalised names read from the linking module are upstream tables unless the
        # reading module defines them itself.
        found = LinkingRequirements()
        analyze_source([loaded.source.tree], found)
        requirements.required_functions |= found.required_functions
        requirements.optional_functions |= found.optional_functions
        for name, table in found.tables.items():
            if name not in vars(loaded.module) or vars(loaded.module)[name] is None:
                requirements.tables.setdefault(name, table)
    # A name probed optionally anywhere is optional everywhere, and a linking attribute
    # that serves as the namespace of upstream tables is a module, not a function.
    namespaces = {table.namespace for table in requirements.tables.values() if table.namespace}
    requirements.required_functions -= requirements.optional_functions | namespaces
    requirements.optional_functions -= namespaces
    return requirements


def definition_heads(tree: ast.AST) -> frozenset[str]:
    """First names of the references in the definitions written in a module's classes."""
    return _facts(tree).heads


def linking_names(tree: ast.AST) -> frozenset[str]:
    """Names a module may expect from its linking module: what it reads from it and
    the heads of its references (``train`` in ``-> train.TrainingParamSet``)."""
    uses = linking_uses(tree)
    return uses.required | uses.optional | uses.tables | definition_heads(tree)


def defined_classes(tree: ast.AST) -> set[str]:
    """Names of the classes a module defines at its top level (its tables, by AST)."""
    body = tree.body if isinstance(tree, ast.Module) else []
    return {statement.name for statement in body if isinstance(statement, ast.ClassDef)}


def element_upstream(
    requirements: LinkingRequirements,
    modules: Mapping[str, LoadedModule],
    activated_at: Mapping[str, int],
    exclude: Iterable[str] = (),
) -> dict[str, Any]:
    """Upstream names that another module of the same Element defines, as its real tables.

    ``project`` needs ``Lab`` from its linking module and ``element_lab.lab``,
    activated in the same check, defines it: the real table is what a pipeline
    would link, so it replaces a mock. ``activated_at`` gives the position of
    the activation that declares each module; a provider counts only when it
    is activated before every module that uses the name. A name two modules
    define, one only read from code, one whose referenced parts the real table
    lacks, or one in ``exclude`` (the spec's own choice) stays a mock.
    """
    excluded = set(exclude)
    found: dict[str, Any] = {}
    for key, table in requirements.tables.items():
        if table.namespace is not None or key in excluded:
            continue
        # The module of each using table (``element_lab.project.ProjectUser``, or a part).
        users = {
            max((name for name in modules if used.startswith(name + ".")), key=len, default="")
            for used in table.used_by
        } - {""}
        if not users or not users <= set(activated_at):
            continue  # read from code only, or used where no activation is known: a mock
        first_use = min(activated_at[user] for user in users)
        candidates = [
            value
            for name, loaded in modules.items()
            if name not in users
            and name in activated_at
            and activated_at[name] < first_use
            and _is_own_table(value := vars(loaded.module).get(table.name), loaded)
            and all(isinstance(getattr(value, part, None), type) for part in table.parts)
        ]
        if len(candidates) == 1:
            found[key] = candidates[0]
    return found


def _is_own_table(value: object, loaded: LoadedModule) -> bool:
    """Whether ``value`` is a table class declared in ``loaded``'s deferred schemas."""
    return isinstance(value, type) and any(queued.cls is value for queued in loaded.tables)
