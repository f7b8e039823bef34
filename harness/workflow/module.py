"""Importing a lab's pipeline module under a schema prefix, with its Elements fresh.

The module activates its Elements when imported, so importing it *is* the
activation: inside a namespace for a check, on the lab's server for a deploy.
The Elements it imports are imported afresh each time (a deferred schema can be
activated once per process), found as the packages its source imports that
hold a deferred schema.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from harness.activation import compat
from harness.activation.calls import call_with_timeout
from harness.activation.discovery import package_locations, package_sources
from harness.activation.failures import Failure, FailureClass, classify
from harness.activation.scope import fresh_scope
from harness.elements.targets import Target

#: Never purged from ``sys.modules``: the harness's own stack stays imported.
_KEPT = frozenset({"datajoint", "numpy", "pandas", "harness", "pymysql", "psycopg2"})


def _source_files(target: Target) -> list[Path]:
    """The pipeline module, and every module of its package when it is in one."""
    assert target.pipeline is not None
    root = target.sys_path[0] / target.package
    if root.is_dir():
        return sorted(root.rglob("*.py"))
    return [target.pipeline]


def _imported_names(paths: list[Path]) -> set[str]:
    names: set[str] = set()
    for path in paths:
        try:
            tree = ast.parse(path.read_bytes(), filename=str(path))
        except (SyntaxError, ValueError, OSError):
            continue  # importing it reports the error, with its line
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


@contextlib.contextmanager
def _on_path(paths: tuple[Path, ...]) -> Iterator[None]:
    added = [str(path) for path in paths if str(path) not in sys.path]
    sys.path[:0] = added
    importlib.invalidate_caches()
    try:
        yield
    finally:
        for path in added:
            with contextlib.suppress(ValueError):
                sys.path.remove(path)


def element_packages(target: Target) -> tuple[str, ...]:
    """The packages the pipeline imports that hold a deferred schema: its Elements."""
    found = []
    with _on_path(target.sys_path):
        for name in sorted(_imported_names(_source_files(target)) - {target.package}):
            if name in sys.stdlib_module_names or name in _KEPT:
                continue
            try:
                if importlib.util.find_spec(name) is None:
                    continue
                sources = package_sources(name, package_locations(name))
            except (ImportError, ValueError):
                continue  # not importable: importing the pipeline will say so
            if any(source.deferred_schemas for source in sources):
                found.append(name)
    return tuple(found)


@contextlib.contextmanager
def imported_pipeline(
    target: Target,
    prefix: str,
    *,
    timeout: float,
    on_timeout: Callable[[], None] = lambda: None,
    stub_missing: bool = False,
) -> Iterator[ModuleType]:
    """Import the pipeline module (so activating it) with its schemas named ``prefix...``.

    DataJoint must already be connected (:func:`harness.activation.compat.connected`).
    An import that takes longer than ``timeout`` seconds raises :class:`TimeoutError`
    (after ``on_timeout``, which ends its database sessions), as a hung ``activate``
    does. The pipeline and its Elements are forgotten again when the block ends.
    """
    packages = (target.package, *element_packages(target))
    with (
        compat.workflow_prefix(prefix),
        fresh_scope(packages, sys_path=target.sys_path, stub_all_missing=stub_missing),
    ):
        yield call_with_timeout(
            importlib.import_module, [target.modules[0]], {}, timeout, on_timeout
        )


def import_failure(exc: BaseException, target: Target, prefix: str) -> Failure:
    """What went wrong importing the pipeline, said for a pipeline (not an Element)."""
    packages = (target.package, *element_packages(target))
    # Importing the module is its activation: only a failing import statement (or
    # syntax) is an import error; the rest is judged as an activation is.
    phase = "import" if isinstance(exc, ImportError | SyntaxError) else "activate"
    failure = classify(exc, phase=phase, module=target.modules[0], packages=packages, prefix=prefix)
    if failure.class_ == FailureClass.UNSUPPORTED_DATAJOINT and "dj.config" in failure.message:
        failure.hint = (
            f"DataJoint {compat.version()} accepts no dj.config['custom']: read the schema "
            f"prefix from the {compat.WORKFLOW_PREFIX_ENV} environment variable under "
            "DataJoint 2 (the harness sets both), e.g. try: db_prefix = "
            'dj.config["custom"].get("database.prefix", "") except KeyError: db_prefix = '
            f'os.environ.get("{compat.WORKFLOW_PREFIX_ENV}", "")'
        )
    return failure


def _table_classes(value: Any) -> Iterator[Any]:
    dj = compat.datajoint()
    if inspect.isclass(value) and issubclass(value, dj.Table) and hasattr(value, "definition"):
        yield value


def declared_tables(module: ModuleType, packages: tuple[str, ...], prefix: str) -> set[str]:
    """``stem.Class`` (``stem.Master.Part``) of every table class the pipeline's modules
    and its Elements' modules declared under ``prefix``."""
    dj = compat.datajoint()
    names: set[str] = set()
    modules = [module] + [
        loaded
        for name, loaded in list(sys.modules.items())
        if loaded is not None and name.split(".")[0] in packages
    ]
    for loaded in modules:
        for value in list(vars(loaded).values()):
            for cls in _table_classes(value):
                database = getattr(cls, "database", None) or ""
                if not database.startswith(prefix):
                    continue
                stem = database[len(prefix) :]
                names.add(f"{stem}.{cls.__name__}")
                for attribute, part in vars(cls).items():
                    if inspect.isclass(part) and issubclass(part, dj.Part):
                        names.add(f"{stem}.{cls.__name__}.{attribute}")
    return names
