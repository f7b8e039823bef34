"""Import a pipeline's Elements and wire each one to its upstream, without a server.

For every ``[[element]]`` in order: resolve the Element (spec or package),
import the modules it activates, read their ``activate`` signatures (the
harness's own planner, :mod:`harness.activation.plan`), map each schema stem
to the lab's schema name, and build the linking module the Element is
activated with: the lab's own module, or one assembled from the tables of
Elements earlier in the pipeline and the configured linking functions. The
same imported classes are used to compute DDL on a plan and are activated on
apply, so what the plan shows is what apply does.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import inspect
import types
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.activation import compat
from harness.activation.discovery import (
    LoadedModule,
    QueuedTable,
    load_module,
    package_locations,
    package_sources,
)
from harness.activation.linking import LinkingRequirements, analyze
from harness.activation.mocks import link
from harness.activation.plan import (
    ActivationStep,
    MissingFunction,
    PlanError,
    activation_groups,
    build_steps,
    choose_modules,
    import_order,
    order_by_imports,
)
from harness.activation.scope import fresh_scope
from harness.deploy.spec import PipelineEntry, PipelineSpec
from harness.elements.targets import Target, resolve_target
from harness.errors import ConfigurationError
from harness.manifest import MANIFEST_DIR, find_manifest, load_manifest, manifest_dirs


@dataclass
class LoadedElement:
    """One entry of the pipeline, imported and planned (nothing activated yet)."""

    entry: PipelineEntry
    target: Target
    manifest_file: Path
    manifest: dict[str, Any]
    loaded: dict[str, LoadedModule]
    steps: list[ActivationStep]
    #: Manifest stem -> schema name on the target.
    schemas: dict[str, str]
    requirements: LinkingRequirements
    linking: types.ModuleType | None = None
    #: Upstream name (as the Element refers to it) -> the object provided.
    upstream: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        version = f" {self.target.version}" if self.target.version else ""
        return f"{self.entry.name}{version}"

    def queued(self) -> Iterator[QueuedTable]:
        for loaded in self.loaded.values():
            yield from loaded.tables

    def module_by_leaf(self, leaf: str) -> LoadedModule | None:
        for name, loaded in self.loaded.items():
            if name.rsplit(".", 1)[-1] == leaf:
                return loaded
        return None


def _leaf(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _resolve(spec: PipelineSpec, entry: PipelineEntry) -> Target:
    text = entry.spec or entry.package or ""
    if entry.spec and not entry.spec.endswith(".toml") and "/" in entry.spec:
        text = str((spec.path.parent / entry.spec).resolve())
    try:
        target = resolve_target(text)
    except ConfigurationError as exc:
        key = "spec" if entry.spec else "package"
        raise spec.error(entry, key, exc.message, exc.hint or "") from None
    if entry.modules:
        target = replace(target, modules=entry.modules)
    return target


def _check_installed_version(spec: PipelineSpec, entry: PipelineEntry, target: Target) -> None:
    """The manifest describes one release: deploying another one would be checked against the wrong
    record."""
    if not target.version or target.sys_path:
        return
    try:
        installed = importlib.metadata.version(target.package.replace("_", "-"))
    except importlib.metadata.PackageNotFoundError:
        return
    if installed != target.version:
        raise spec.error(
            entry,
            "spec",
            f"{target.package} {installed} is installed, but the spec and its manifest are for "
            f"{target.version}",
            f"install {target.package.replace('_', '-')}=={target.version}",
        )


def _steps(
    spec: PipelineSpec,
    entry: PipelineEntry,
    loaded: dict[str, LoadedModule],
    chosen: list[str],
    covers: dict[str, list[str]],
    target: Target,
) -> list[ActivationStep]:
    modules = {name: item.module for name, item in loaded.items()}
    try:
        return build_steps(modules, chosen, covers, target.activations)
    except PlanError as exc:
        hint = "" if isinstance(exc, MissingFunction) else "see the Element's spec"
        raise spec.error(entry, "modules", str(exc), hint) from None


def _schema_map(
    spec: PipelineSpec, entry: PipelineEntry, steps: list[ActivationStep]
) -> dict[str, str]:
    """Manifest stem -> target schema; keys are stems or ``*_schema_name`` parameters."""
    by_key: dict[str, str] = {}
    for step in steps:
        for parameter, stem in step.schema_stems.items():
            by_key[parameter] = stem
            by_key[stem] = stem
    known = sorted({stem for step in steps for stem in step.schema_stems.values()})
    mapping: dict[str, str] = {}
    for key, schema in entry.schemas.items():
        if key not in by_key:
            raise spec.error(
                entry,
                f"schemas.{key}",
                f"{key!r} is not a schema of the modules activated ({', '.join(known)})",
                "name each schema by its stem or by its activate() parameter",
            )
        mapping[by_key[key]] = schema
    missing = [stem for stem in known if stem not in mapping]
    if missing:
        raise spec.error(
            entry,
            "schemas",
            f"no target schema for {', '.join(repr(m) for m in missing)}",
            f'add e.g. {missing[0]} = "<schema name>" to schemas',
        )
    return mapping


def _import_element(
    spec: PipelineSpec,
    entry: PipelineEntry,
    target: Target,
    manifest_dir: Path | None = None,
    backend: str = "mysql",
) -> LoadedElement:
    try:
        sources = {
            source.name: source
            for source in package_sources(target.package, package_locations(target.package))
            if source.name not in target.exclude
        }
    except ModuleNotFoundError:
        raise spec.error(
            entry,
            "spec" if entry.spec else "package",
            f"package {target.package} is not installed",
            "install it first (e.g. `harness check` installs what a spec names)",
        ) from None
    missing = [name for name in target.modules if name not in sources]
    if missing:
        raise spec.error(entry, "modules", f"{missing[0]} is not a module of {target.package}", "")
    chosen, covers = choose_modules(sources, target.package, target.modules)
    chosen = order_by_imports(chosen, sources, target.package)
    groups = activation_groups(chosen, covers)
    if not chosen or len(groups) > 1:
        variants = ", ".join(chosen) or "none found"
        raise spec.error(
            entry,
            "modules",
            f"cannot tell which modules of {target.package} to deploy ({variants})",
            "name them in modules = [...]; alternative variants cannot share one pipeline",
        )
    loaded: dict[str, LoadedModule] = {}
    for name in import_order(chosen, covers):
        try:
            loaded[name] = load_module(sources[name])
        except Exception as exc:
            raise spec.error(entry, "modules", f"importing {name} failed: {exc}", "") from None
    steps = _steps(spec, entry, loaded, chosen, covers, target)
    directories = manifest_dirs(manifest_dir, MANIFEST_DIR, fall_back=target.spec is not None)
    path, found = find_manifest(
        target.name, target.version, compat.major_version(), directories, backend
    )
    if found is None:
        raise spec.error(
            entry,
            "spec" if entry.spec else "package",
            f"no manifest for {target.name} {target.version or ''} at {path}",
            "review and commit one: harness check <element> --update-manifests",
        )
    return LoadedElement(
        entry=entry,
        target=target,
        manifest_file=found,
        manifest=load_manifest(found),
        loaded=loaded,
        steps=steps,
        schemas=_schema_map(spec, entry, steps),
        requirements=analyze(loaded.values()),
    )


def _is_table_class(value: Any) -> bool:
    dj = compat.datajoint()
    return inspect.isclass(value) and issubclass(value, dj.Table) and hasattr(value, "definition")


def _find_upstream(
    spec: PipelineSpec, element: LoadedElement, name: str, earlier: list[LoadedElement]
) -> Any:
    """An earlier Element's table for upstream ``name`` (a reference, or the latest by name)."""
    entry = element.entry
    head, _, rest = name.partition(".")
    reference = entry.upstream.get(name) or entry.upstream.get(head)
    if reference is not None:
        source = next(e for e in earlier if e.entry.name == reference.entry)
        module = source.module_by_leaf(reference.module)
        value: Any = module.module if module is not None else None
        for attribute in reference.table.split("."):
            value = getattr(value, attribute, None)
        if module is None or not _is_table_class(value):
            raise spec.error(
                entry,
                f"upstream.{name}",
                f"{reference.render()} is not a table of {source.entry.name}'s activated modules "
                f"({', '.join(_leaf(m) for m in source.loaded)})",
                "write <entry>:<module leaf>.<Table>",
            )
        if rest and reference.table == head:
            value = getattr(value, rest, value)
        return value
    for source in reversed(earlier):
        found = [
            getattr(loaded.module, head)
            for loaded in source.loaded.values()
            if _is_table_class(getattr(loaded.module, head, None))
            and getattr(loaded.module, head).__module__ == loaded.module.__name__
        ]
        if len(found) > 1:
            raise spec.error(
                entry,
                "upstream",
                f"upstream table {head!r} is defined by several modules of {source.entry.name}",
                f'name the one to use: {head} = "{source.entry.name}:<module>.{head}"',
            )
        if found:
            value = found[0]
            return getattr(value, rest) if rest else value
    raise spec.error(
        entry,
        "upstream",
        f"{entry.name} needs upstream table {head!r}, which no earlier Element defines",
        f'add {head} = "<entry>:<module>.<Table>" under [element.upstream], or list the '
        "Element that defines it earlier",
    )


def _linking_function(name: str, path: str) -> Any:
    returns_list = "files" in name or name.endswith("_dirs")

    def configured(*args: Any, **kwargs: Any) -> Any:
        return [path] if returns_list else path

    configured.__name__ = name
    configured.__doc__ = f"Linking function {name!r} from the pipeline spec: returns {path}."
    return configured


def _link(spec: PipelineSpec, element: LoadedElement, earlier: list[LoadedElement]) -> None:
    """Build ``element.linking`` and record what each upstream name resolves to."""
    entry = element.entry
    requirements = element.requirements
    if entry.linking_module:
        try:
            module = importlib.import_module(entry.linking_module)
        except Exception as exc:
            raise spec.error(
                entry, "linking_module", f"cannot import {entry.linking_module}: {exc}", ""
            ) from None
        for name in requirements.tables:
            value: Any = module
            for attribute in name.split("."):
                value = getattr(value, attribute, None)
            if value is None:
                raise spec.error(
                    entry,
                    "linking_module",
                    f"{entry.linking_module} has no {name}, which {entry.name} needs",
                    "",
                )
            element.upstream[name] = value
        missing = sorted(f for f in requirements.required_functions if not hasattr(module, f))
        if missing:
            raise spec.error(
                entry,
                "linking_module",
                f"{entry.linking_module} lacks function(s) {', '.join(missing)}",
                "",
            )
        element.linking = module
        return
    module = types.ModuleType(f"harness_deploy_linking_{entry.name.replace('-', '_')}")
    module.__doc__ = f"Linking module of {entry.name}, assembled by harness deploy."
    for _key, table in sorted(requirements.tables.items()):
        value = _find_upstream(spec, element, table.name, earlier)
        element.upstream[table.name] = value
        link(module, table.namespace, table.name, value)
    for name in sorted(set(entry.upstream) - set(element.upstream)):
        value = _find_upstream(spec, element, name, earlier)
        element.upstream[name] = value
        module.__dict__[name] = value
    missing = sorted(requirements.required_functions - set(entry.functions))
    if missing:
        raise spec.error(
            entry,
            "functions",
            f"{entry.name} needs linking function(s) {', '.join(missing)}",
            f'add {missing[0]} = "/path/to/data" under [element.functions]',
        )
    for name, path in entry.functions.items():
        module.__dict__[name] = _linking_function(name, path)
    element.linking = module


@contextlib.contextmanager
def loaded_pipeline(
    spec: PipelineSpec, manifest_dir: Path | None = None, backend: str = "mysql"
) -> Iterator[list[LoadedElement]]:
    """Import every Element of the pipeline afresh and link them; forget them afterwards.

    Each Element's manifest is looked for in ``manifest_dir`` first (see
    :func:`harness.manifest.manifest_dirs`), then, for spec names, among the bundled ones;
    the one recorded on ``backend``'s kind of server (PostgreSQL has its own).
    """
    targets = []
    for entry in spec.entries:
        target = _resolve(spec, entry)
        _check_installed_version(spec, entry, target)
        targets.append(target)
    packages = {target.package for target in targets}
    sys_path = [path for target in targets for path in target.sys_path]
    stubs = [stub for target in targets for stub in target.stubs]
    with fresh_scope(packages, sys_path=sys_path, stubs=stubs):
        elements: list[LoadedElement] = []
        for entry, target in zip(spec.entries, targets, strict=True):
            element = _import_element(spec, entry, target, manifest_dir, backend)
            _link(spec, element, elements)
            elements.append(element)
        yield elements
