"""Import phase: read the Element's sources, choose its modules, import a group fresh."""

from __future__ import annotations

from dataclasses import dataclass

from harness.activation.discovery import (
    LoadedModule,
    ModuleSource,
    load_module,
    package_locations,
    package_sources,
)
from harness.activation.failures import Failure, FailureClass
from harness.activation.phases.base import CheckContext, PhaseFailed, Timer
from harness.activation.plan import (
    activation_groups,
    choose_modules,
    import_order,
    order_by_imports,
)
from harness.activation.scope import purge_modules


@dataclass
class Discovery:
    """The Element's sources and the modules chosen for activation, in order."""

    sources: dict[str, ModuleSource]
    chosen: list[str]
    #: Module -> the modules its ``activate`` activates itself.
    covers: dict[str, list[str]]

    def groups(self) -> list[list[str]]:
        """The chosen modules split into groups that can share one import."""
        return activation_groups(self.chosen, self.covers)


def _import_failed(context: CheckContext, exc: BaseException, module: str) -> PhaseFailed:
    return PhaseFailed(context.classify(exc, phase="import", module=module), "imported")


def discover(context: CheckContext, timer: Timer) -> Discovery:
    """Read the Element's sources and choose what to activate."""
    target = context.target
    try:
        with timer("import_s"):
            sources = {
                source.name: source
                for source in package_sources(target.package, package_locations(target.package))
                if source.name not in target.exclude
            }
            chosen, covers = choose_modules(sources, target.package, target.modules)
            chosen = order_by_imports(chosen, sources, target.package)
    except ModuleNotFoundError as exc:
        raise _import_failed(context, exc, target.package) from None
    if not chosen:
        failure = Failure(
            FailureClass.IMPORT_ERROR,
            f"{target.package} holds no module with a deferred schema and an activate() function",
            module=target.package,
            hint="name the modules to check in [check].modules",
        )
        raise PhaseFailed(failure, "imported")
    return Discovery(sources, chosen, covers)


def _is_circular_import(exc: ImportError) -> bool:
    text = str(exc)
    return "partially initialized module" in text or "circular import" in text


def import_group(
    context: CheckContext,
    discovery: Discovery,
    group: list[str],
    loaded: dict[str, LoadedModule],
    timer: Timer,
) -> None:
    """Import ``group`` (and the modules its ``activate`` covers) into ``loaded``.

    ``loaded`` keeps what was imported when a later module fails: verification
    still reports those modules' tables.
    """
    order = import_order(group, discovery.covers)
    sources = discovery.sources
    missing = [name for name in order if name not in sources]
    if missing:
        failure = Failure(
            FailureClass.IMPORT_ERROR,
            f"{missing[0]} is not a module of {context.target.package}",
            module=missing[0],
            hint="check [check].modules in the spec",
        )
        raise PhaseFailed(failure, "imported")
    pending = list(order)
    with timer("import_s"):
        for attempt in range(len(order) + 1):
            name = pending[0]
            try:
                for name in pending:
                    loaded[name] = load_module(sources[name])
                break
            except ImportError as exc:
                if not _is_circular_import(exc) or attempt == len(order):
                    raise _import_failed(context, exc, name) from None
                # Modules that import each other load in one order only: try the
                # one that failed last, from a clean slate.
                purge_modules((context.target.package,))
                loaded.clear()
                pending.remove(name)
                pending.append(name)
            except Exception as exc:
                raise _import_failed(context, exc, name) from None
    context.result.add_check("imported", True, f"{len(order)} module(s): {', '.join(order)}")
