"""Check one Element: import, plan, mock, activate, catalog, verify, tear down.

This is the engine the CLI and the pytest plugin share. Each step records its
time, and every failure is classified (see :mod:`harness.activation.failures`)
instead of escaping as a traceback. Whatever happens, the namespace's schemas
and user are dropped before the function returns.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.activation import compat
from harness.activation.discovery import (
    LoadedModule,
    ModuleSource,
    load_module,
    package_locations,
    package_sources,
)
from harness.activation.failures import (
    IMPORT_ERROR,
    NAMESPACE_VIOLATION,
    SERVER_ERROR,
    TIMEOUT,
    UNRESOLVED_REFERENCE,
    Failure,
    classify,
)
from harness.activation.linking import LinkingRequirements, analyze, element_upstream
from harness.activation.mocks import MockLinkingModule, synthesize, upstream_sources
from harness.activation.namespace import Namespace
from harness.activation.plan import (
    ActivationStep,
    PlanError,
    activation_groups,
    activation_positions,
    choose_modules,
    covered_closure,
    order_by_imports,
    step_from_signature,
)
from harness.activation.scope import fresh_scope, purge_modules
from harness.activation.stubs import StubSite
from harness.db import registry
from harness.db.backends import get_backend
from harness.db.catalog import Table
from harness.db.server import ServerInfo
from harness.elements.targets import Target
from harness.errors import HarnessError
from harness.manifest import (
    build_manifest,
    diff_manifests,
    find_manifest,
    load_manifest,
    manifest_dirs,
    render_diff,
    write_manifest,
)
from harness.redact import redact_text
from harness.results import PASSED, ElementResult
from harness.roundtrip.check import round_trip
from harness.roundtrip.stores import store_names, temporary_stores

MOCK_STEM = "mock"
log = logging.getLogger("harness.check")


@dataclass
class CheckOptions:
    """How to run a check (the per-Element spec may tighten the timeout)."""

    timeout: float = 120.0
    stub_missing: bool = False
    #: Write the manifest instead of comparing with it.
    update_manifests: bool = False
    #: Manifests looked in first and written there (see :func:`harness.manifest.manifest_dirs`);
    #: None: ``elements/manifests`` beside the spec, else under cwd.
    manifest_dir: Path | None = None
    #: Activate a second time in fresh modules and require an identical catalog.
    reactivate: bool = True
    #: Run the data round-trip check after verification (``--no-data`` turns it off).
    data: bool = True
    #: Seed of the synthesized rows; None: derived from the Element's name and version.
    data_seed: int | None = None


def check_options(settings: Any) -> CheckOptions:
    """The check options a run's :class:`~harness.settings.Settings` ask for."""
    return CheckOptions(
        timeout=settings.timeout,
        stub_missing=settings.stub_missing,
        update_manifests=settings.update_manifests,
        manifest_dir=Path(settings.manifest_dir) if settings.manifest_dir else None,
        data=settings.data,
        data_seed=settings.data_seed,
    )


@dataclass
class Activation:
    """A finished activation, for tests that want to use the Element's tables."""

    result: ElementResult
    modules: dict[str, Any] = field(default_factory=dict)
    linking_module: Any = None
    namespace: Namespace | None = None


class _Timer:
    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started


class _WarningCollector(logging.Handler):
    """DataJoint log records and Python warnings raised during activation, as report lines."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(redact_text(f"{record.name}: {record.getMessage()}"))


def _explain_warning(message: str) -> str:
    lowered = message.lower()
    if "longblob" in lowered and ("raw bytes" in lowered or "<blob>" in lowered):
        return (
            f"{message} -- under DataJoint 2.x a bare longblob stores raw bytes: values "
            "written by DataJoint 0.14 (serialised arrays) will not round-trip; declare "
            "<blob> instead"
        )
    return message


def call_with_timeout(
    function: Callable[..., Any],
    args: list[Any],
    kwargs: dict[str, Any],
    timeout: float,
    on_timeout: Callable[[], None],
) -> Any:
    """Run ``function`` in a helper thread and give up after ``timeout`` seconds.

    A hung ``activate`` cannot be killed from Python; ``on_timeout`` ends its
    database sessions so that a thread blocked in SQL returns, and the daemon
    thread is otherwise abandoned. The check is reported as ``timeout``.
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = function(*args, **kwargs)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=run, name="harness-activate", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        on_timeout()
        raise TimeoutError(f"activate() did not return within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


UPSTREAM_STEM_PREFIX = "up_"


def _is_own_schema(stem: str) -> bool:
    """Whether a schema stem is the Element's (not the mocks', not a real upstream's)."""
    return stem != MOCK_STEM and not stem.startswith(UPSTREAM_STEM_PREFIX)


def _unquoted(name: str) -> str:
    """`schema`.`table` (MySQL) or "schema"."table" (PostgreSQL) -> schema.table."""
    return name.replace("`", "").replace('"', "")


def _parent_names(dependencies: Any, full_table_name: str) -> list[str]:
    """Parents in DataJoint's graph (a dict in 0.14, a list of pairs in 2.x).

    A renamed reference (``.proj(new="old")``) goes through an alias node named by a
    number; its parent is the real table.
    """
    parents = dependencies.parents(full_table_name)
    names = (
        list(parents)
        if isinstance(parents, dict)
        else [parent[0] if isinstance(parent, tuple) else parent for parent in parents]
    )
    resolved: list[str] = []
    for name in names:
        if str(name).isdigit():
            resolved += _parent_names(dependencies, name)
        else:
            resolved.append(str(name))
    return resolved


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _is_circular_import(exc: ImportError) -> bool:
    text = str(exc)
    return "partially initialized module" in text or "circular import" in text


def _import_order(chosen: list[str], covers: dict[str, list[str]]) -> list[str]:
    order: list[str] = []
    for module in chosen:
        for dependency in [*reversed(covered_closure(covers, module)), module]:
            if dependency not in order:
                order.append(dependency)
    return order


class ElementCheck:
    """One check of one target on one server; :meth:`run` returns the result."""

    def __init__(
        self, target: Target, server: ServerInfo, prefix: str, options: CheckOptions | None = None
    ) -> None:
        self.target = target
        self.server = server
        self.prefix = prefix
        self.options = options or CheckOptions()
        self.backend = get_backend(server.backend)
        self.result = ElementResult(target=target.text, name=target.name, version=target.version)
        self.timer = _Timer(self.result.timings)
        self.loaded: dict[str, LoadedModule] = {}
        self.all_loaded: list[LoadedModule] = []
        self.manifest: dict[str, Any] | None = None
        #: The catalog read at the end of reactivation, valid until caller code runs.
        self._fresh_catalog: list[Table] | None = None
        self._caller_code_harmless = False
        self.datajoint_view: dict[str, tuple[list[str] | None, set[str] | None, set[str]]] = {}
        self.mock: MockLinkingModule | None = None
        self.namespace: Namespace | None = None

    # -- steps -------------------------------------------------------------------------------

    def _fail(self, failure: Failure, check: str) -> None:
        self.result.fail(failure)
        self.result.add_check(check, False, failure.render())

    def _import(self, sources: dict[str, ModuleSource], order: list[str]) -> bool:
        missing = [name for name in order if name not in sources]
        if missing:
            failure = Failure(
                IMPORT_ERROR,
                f"{missing[0]} is not a module of {self.target.package}",
                module=missing[0],
                hint="check [check].modules in the spec",
            )
            self._fail(failure, "imported")
            return False
        pending = list(order)
        with self.timer("import_s"):
            for _attempt in range(len(order) + 1):
                name = pending[0]
                try:
                    for name in pending:
                        self.loaded[name] = load_module(sources[name])
                    break
                except ImportError as exc:
                    if not _is_circular_import(exc) or _attempt == len(order):
                        self._fail_import(exc, name)
                        return False
                    # Modules that import each other load in one order only: try the
                    # one that failed last, from a clean slate.
                    purge_modules((self.target.package,))
                    self.loaded.clear()
                    pending.remove(name)
                    pending.append(name)
                except Exception as exc:
                    self._fail_import(exc, name)
                    return False
        self.result.add_check("imported", True, f"{len(order)} module(s): {', '.join(order)}")
        return True

    def _fail_import(self, exc: BaseException, module: str) -> None:
        failure = classify(
            exc, phase="import", module=module, packages=(self.target.package,), prefix=self.prefix
        )
        self._fail(failure, "imported")

    def _plan(self, chosen: list[str], covers: dict[str, list[str]]) -> list[ActivationStep]:
        overrides = {override.module: override for override in self.target.activations}
        steps = []
        for module in chosen:
            override = overrides.get(module)
            function_name = override.function if override else "activate"
            function = getattr(self.loaded[module].module, function_name, None)
            if function is None:
                raise PlanError(f"{module} has no function {function_name}()")
            covered = (
                list(override.covers)
                if override and override.covers
                else covered_closure(covers, module)
            )
            steps.append(step_from_signature(module, function, covered, override))
        return steps

    @contextlib.contextmanager
    def _capture_warnings(self) -> Iterator[None]:
        """Route DataJoint's log records and warnings into the report, not the terminal."""
        collector = _WarningCollector()
        datajoint_logger = logging.getLogger("datajoint")
        own_handlers = list(datajoint_logger.handlers)
        for handler in own_handlers:
            datajoint_logger.removeHandler(handler)
        datajoint_logger.addHandler(collector)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                yield
        finally:
            datajoint_logger.removeHandler(collector)
            for handler in own_handlers:
                datajoint_logger.addHandler(handler)
            lines = collector.lines + [
                redact_text(f"{w.category.__name__}: {w.message}")
                for w in caught
                if self._worth_reporting(w)
            ]
            self.result.warnings.extend(_explain_warning(line) for line in dict.fromkeys(lines))

    def _worth_reporting(self, warning: warnings.WarningMessage) -> bool:
        """DataJoint's and the Element's warnings; not other libraries' deprecations."""
        if not issubclass(warning.category, (DeprecationWarning, PendingDeprecationWarning)):
            return True
        return f"/{self.target.package}/" in warning.filename

    def _activate_steps(
        self,
        steps: list[ActivationStep],
        requirements: LinkingRequirements,
        data_root: Path,
        record: bool = True,
    ) -> bool:
        assert self.namespace is not None
        with self.timer("mock_s"):
            try:
                from_spec = self._activate_upstream(data_root, record)
                from_element = element_upstream(
                    requirements,
                    self.loaded,
                    activation_positions(steps),
                    exclude={*self.target.mock_tables, *from_spec},
                )
                self.mock = synthesize(
                    requirements,
                    schema_name=self.namespace.schema(MOCK_STEM),
                    data_root=data_root,
                    definitions=self.target.mock_tables,
                    extra_functions=self.target.mock_functions,
                    provided={**self._own_modules(), **from_element, **from_spec},
                )
            except Exception as exc:
                self._fail(
                    classify(
                        exc,
                        phase="activate",
                        module="(mock linking module)",
                        packages=(self.target.package,),
                        prefix=self.prefix,
                    ),
                    "activated",
                )
                return False
        self.result.mocked_tables.update(self.mock.tables)
        self.result.mocked_functions = sorted(
            set(self.result.mocked_functions) | set(self.mock.functions)
        )
        self.result.upstream.update(
            upstream_sources(self.mock.tables, from_element, self.target.upstream)
        )
        timeout = self.target.timeout or self.options.timeout
        with self.timer("activate_s"):
            for step in steps:
                args, kwargs = step.arguments(self.prefix, self.mock.module)
                function = getattr(self.loaded[step.module].module, step.function)
                if record:
                    self.result.activations.append(
                        {
                            "module": step.module,
                            "function": step.function,
                            "covers": list(step.covers),
                            "schemas": {
                                name: f"{self.prefix}_{stem}"
                                for name, stem in step.schema_stems.items()
                            },
                        }
                    )
                try:
                    call_with_timeout(function, args, kwargs, timeout, self._end_sessions)
                except Exception as exc:
                    failure = classify(
                        exc,
                        phase="activate",
                        module=step.module,
                        packages=(self.target.package,),
                        prefix=self.prefix,
                        linking_module=self.mock.module,
                    )
                    self._fail(failure, "activated")
                    return False
        return True

    def _packages(self) -> tuple[str, ...]:
        """The Element's package and those its spec takes upstream tables from."""
        upstream = {path.split(".")[0] for path in self.target.upstream.values()}
        return (self.target.package, *sorted(upstream - {self.target.package}))

    def _activate_upstream(self, data_root: Path, record: bool = True) -> dict[str, Any]:
        """Activate the real Elements the spec takes upstream tables from; return those tables.

        ``[upstream] Subject = "element_animal.subject.Subject"`` activates
        ``element_animal.subject`` first, in this namespace (schema stems prefixed
        ``up_`` so they cannot collide with the Element's own), with its own needs
        mocked, and hands its ``Subject`` to the linking module instead of a mock.
        """
        assert self.namespace is not None
        provided: dict[str, Any] = {}
        by_module: dict[str, dict[str, str]] = {}
        for name, path in self.target.upstream.items():
            module_path, _, attribute = path.rpartition(".")
            by_module.setdefault(module_path, {})[name] = attribute
        for module_path, names in by_module.items():
            module = sys.modules.get(module_path)
            if module is None or not getattr(module, "_harness_upstream_active", False):
                module = self._activate_one_upstream(module_path, data_root, record)
            for name, attribute in names.items():
                provided[name] = getattr(module, attribute)
        return provided

    def _activate_one_upstream(self, module_path: str, data_root: Path, record: bool) -> Any:
        assert self.namespace is not None
        package = module_path.split(".")[0]
        sources = {
            source.name: source for source in package_sources(package, package_locations(package))
        }
        loaded = load_module(sources[module_path])
        requirements = analyze([loaded])
        mock = synthesize(
            requirements,
            schema_name=self.namespace.schema(MOCK_STEM),
            data_root=data_root,
            provided=self._own_modules(),
        )
        step = step_from_signature(module_path, loaded.module.activate, [])
        step.schema_stems = {
            key: f"{UPSTREAM_STEM_PREFIX}{stem}" for key, stem in step.schema_stems.items()
        }
        args, kwargs = step.arguments(self.prefix, mock.module)
        loaded.module.activate(*args, **kwargs)
        loaded.module._harness_upstream_active = True
        self.result.mocked_tables.update(mock.tables)
        self.result.upstream.update(upstream_sources(mock.tables, {}, {}))
        if record:
            self.result.activations.append(
                {
                    "module": module_path,
                    "function": "activate",
                    "covers": [],
                    "upstream": True,
                    "schemas": {
                        name: f"{self.prefix}_{stem}" for name, stem in step.schema_stems.items()
                    },
                }
            )
        return loaded.module

    def _own_modules(self) -> dict[str, Any]:
        """The Element's modules by leaf name, handed over where its linking module wants them.

        In a real pipeline ``linking_module.imaging`` *is* the Element's imaging module;
        a mock in its place would shadow the real one in ``imaging``'s own context.
        """
        package = self.target.package
        return {
            name.rsplit(".", 1)[-1]: module
            for name, module in list(sys.modules.items())
            if name.startswith(package + ".") and module is not None
        }

    def _end_sessions(self) -> None:
        if self.namespace is None:
            return
        with contextlib.suppress(Exception):
            self.backend.end_sessions(self.namespace.admin, self.namespace.user)

    def _verify(self, admin: Any, before: set[str]) -> None:
        assert self.namespace is not None
        with self.timer("catalog_s"):
            # Reuse the reactivation's read when no caller code ran since (``run()``).
            catalog = (
                self._fresh_catalog
                if self._fresh_catalog is not None
                else (self.backend.read_catalog(admin, self.prefix))
            )
            after = self.backend.all_schemas(admin)
        with self.timer("verify_s"):
            element_tables = [table for table in catalog if _is_own_schema(table.schema)]
            self.result.tables = element_tables
            self.result.schemas = sorted(
                {table.schema for table in element_tables}
                | {
                    schema[len(self.prefix) + 1 :]
                    for schema in self.namespace.schemas()
                    if _is_own_schema(schema[len(self.prefix) + 1 :])
                }
            )
            present = {(table.schema, table.name) for table in catalog}
            missing = []
            for loaded in self.all_loaded:
                for queued in loaded.tables:
                    database = getattr(queued.cls, "database", None)
                    stem = database[len(self.prefix) + 1 :] if database else "?"
                    if (stem, queued.name) not in present:
                        missing.append(f"{loaded.source.name}.{queued.name}")
            declared = {
                (getattr(queued.cls, "database", "") or "")[len(self.prefix) + 1 :]
                + "."
                + queued.name
                for loaded in self.all_loaded
                for queued in loaded.tables
            }
            undeclared = sorted(t.full_name for t in element_tables if t.full_name not in declared)
            problems = []
            if missing:
                problems.append("missing: " + ", ".join(missing))
            if undeclared:
                # Created behind DataJoint's back (or by code outside the table classes).
                problems.append("not declared by the Element: " + ", ".join(undeclared))
            problems += self._disagreements_with_datajoint(element_tables)
            self.result.add_check(
                "declared_all",
                not problems,
                "; ".join(problems)
                if problems
                else f"{len(element_tables)} table(s) in {len(self.result.schemas)} schema(s)",
            )
            mocked = ", ".join(sorted(self.result.mocked_tables)) or "none"
            self.result.add_check("references_resolved", True, f"mocked upstream: {mocked}")
            outside = registry.unclaimed_schemas(
                self.backend, admin, after - before - set(self.namespace.schemas())
            )
            if outside and self.result.failure is None:
                # Backends that cannot refuse it up front (PostgreSQL) are caught here.
                self.result.fail(
                    Failure(
                        NAMESPACE_VIOLATION,
                        f"{self.target.package} created schema(s) outside its namespace "
                        f"{self.prefix}_*: {', '.join(outside)}",
                        module=self.target.package,
                        hint="derive every schema name from the activate() arguments",
                    )
                )
            self.result.add_check(
                "namespace_confined",
                not outside,
                "created outside the namespace: " + ", ".join(outside)
                if outside
                else f"every schema is {self.prefix}_*",
            )
            self._check_manifest(element_tables)

    def _manifest_dirs(self) -> tuple[Path, ...]:
        default = Path.cwd() / "elements" / "manifests"
        spec_path = getattr(self.target.spec, "path", None)
        if spec_path is not None:
            for parent in Path(spec_path).resolve().parents:
                if parent.name == "elements":
                    default = parent / "manifests"
                    break
        return manifest_dirs(self.options.manifest_dir, default, fall_back=spec_path is not None)

    def _record_datajoint_view(self) -> None:
        """What DataJoint itself believes it declared: keys, attributes, parents.

        Read while the Element's modules and connection are live, so that the
        catalog read from the server can be cross-checked against it. One load of
        DataJoint's dependency graph gives every table's primary key and parents;
        attribute names come from headings DataJoint has already loaded (loading
        the others would cost queries per table for information the graph and the
        catalog already hold).
        """
        view: dict[str, tuple[list[str] | None, set[str] | None, set[str]]] = {}
        try:
            dependencies = compat.datajoint().conn().dependencies
            dependencies.load()
            for loaded in self.all_loaded:
                for queued in loaded.tables:
                    database = getattr(queued.cls, "database", None)
                    if not database or not database.startswith(self.prefix + "_"):
                        continue
                    full_name = queued.cls.full_table_name
                    node = (
                        dependencies.nodes.get(full_name, {}) if full_name in dependencies else {}
                    )
                    primary_key = node.get("primary_key")
                    heading = getattr(queued.cls, "_heading", None)
                    loaded_names = (
                        {n for n in heading.names if not n.startswith("_")}
                        if heading is not None and getattr(heading, "_attributes", None)
                        else None
                    )
                    parents = {
                        _unquoted(parent).split(".", 1)[0][len(self.prefix) + 1 :]
                        for parent in _parent_names(dependencies, full_name)
                    }
                    name = f"{database[len(self.prefix) + 1 :]}.{queued.name}"
                    view[name] = (
                        sorted(primary_key) if primary_key is not None else None,
                        loaded_names,
                        parents,
                    )
        except Exception as exc:  # DataJoint's own view is a cross-check, not the source
            self.result.warnings.append(
                f"could not read DataJoint's view of the tables: {type(exc).__name__}: {exc}"
            )
        self.datajoint_view = view

    def _disagreements_with_datajoint(self, tables: list[Table]) -> list[str]:
        """Where the server's catalog and DataJoint's graph or headings disagree."""
        problems = []
        for table in tables:
            seen = self.datajoint_view.get(table.full_name)
            if seen is None:
                continue
            primary_key, names, parent_schemas = seen
            on_server = {a.name for a in table.attributes if not a.name.startswith("_")}
            if primary_key is not None and primary_key != sorted(table.primary_key):
                problems.append(
                    f"{table.full_name}: DataJoint's primary key ({', '.join(primary_key)}) "
                    f"differs from the server's ({', '.join(sorted(table.primary_key))})"
                )
            if names is not None and names != on_server:
                problems.append(
                    f"{table.full_name}: DataJoint's heading ({', '.join(sorted(names))}) "
                    f"differs from the server's ({', '.join(sorted(on_server))})"
                )
            catalog_parents = {fk.parent.split(".", 1)[0] for fk in table.foreign_keys}
            if parent_schemas - catalog_parents:
                problems.append(
                    f"{table.full_name}: DataJoint's dependency graph has parents in "
                    f"{', '.join(sorted(parent_schemas - catalog_parents))} that the server's "
                    "foreign keys lack"
                )
        return problems

    def _check_manifest(self, tables: list[Table]) -> None:
        """Compare the catalog with the reviewed manifest (or write it when asked)."""
        if self.result.status != PASSED:
            self.result.add_check("manifest_match", None, "not compared: the check failed")
            return
        manifest = build_manifest(
            self.target.name,
            self.result.version,
            compat.major_version(),
            tables,
            self.result.mocked_tables,
        )
        self.manifest = manifest
        path, found = find_manifest(
            self.target.name,
            self.result.version,
            compat.major_version(),
            self._manifest_dirs(),
            self.backend.name,
        )
        shown = _relative(path)
        if self.options.update_manifests:
            write_manifest(manifest, path)
            self.result.add_check("manifest_match", True, f"manifest written to {shown}")
            return
        if found is None:
            self.result.add_check(
                "manifest_match",
                None,
                f"no manifest at {shown}; review and commit one written by --update-manifests",
            )
            return
        if found != path:  # a spec's reviewed manifest, none in --manifest-dir
            shown = f"{_relative(found)} (none in {_relative(path.parent)})"
        try:
            expected = load_manifest(found)
        except HarnessError as exc:
            self.result.add_check("manifest_match", False, str(exc))
            return
        if self.target.spec is None and self.target.modules:
            # One module of an Element: compare with its part of the Element's manifest.
            expected = {
                **expected,
                "tables": [
                    table
                    for table in expected.get("tables", [])
                    if table.get("schema") in set(manifest["schemas"])
                ],
            }
        changes = diff_manifests(expected, manifest)
        self.result.add_check(
            "manifest_match",
            not changes,
            f"differs from {shown}:\n{render_diff(changes)}\n"
            "  hint: if the change is intended, run with --update-manifests, review the "
            "manifest and commit it; otherwise fix the Element"
            if changes
            else f"matches {shown}",
        )

    # -- the whole check ---------------------------------------------------------------------

    def run(self) -> ElementResult:
        """Run the whole check and return its result; nothing is left on the server."""
        self._caller_code_harmless = True
        with self.activated():
            pass  # nothing runs between activation and verification here
        return self.result

    @contextlib.contextmanager
    def activated(self) -> Iterator[Activation]:
        """Activate, hand the live activation to the caller, then verify and tear down.

        Tests use the yielded :class:`Activation` to insert and fetch rows through
        the Element's own modules; verification and teardown run when the block ends.
        """
        compat.require_backend_support(self.backend.name)
        admin = None
        with self._server_guard("connecting to the server as admin", "activated"):
            admin = self.backend.connect(
                self.server.host,
                self.server.port,
                self.server.admin_user,
                self.server.admin_password,
                tls=self.server.tls,
            )
            before = self.backend.all_schemas(admin)
            with self.timer("namespace_s"):
                self.namespace = Namespace.create(
                    self.backend,
                    admin,
                    self.prefix,
                    [f"{self.prefix}_{MOCK_STEM}"],
                    server_key=(self.server.host, self.server.port),
                )
        try:
            if self.namespace is None:  # the server failed first: reported, nothing to undo
                yield Activation(self.result)
                return
            steps = self._run_in_scope(admin, before)
            activation: Activation | None = None
            try:
                with (
                    self._capture_warnings(),
                    self._server_guard("reading the catalog", "declared_all"),
                ):
                    activation = next(steps, None)
                yield activation or Activation(self.result, namespace=self.namespace)
                if not self._caller_code_harmless:
                    self._fresh_catalog = None  # a test may have changed the server
                with (
                    self._capture_warnings(),
                    self._server_guard("reading the catalog", "declared_all"),
                ):
                    for _ in steps:
                        pass
            finally:
                steps.close()
                left: list[str] | None = None
                with (
                    self.timer("teardown_s"),
                    self._server_guard("dropping the namespace", "teardown_clean"),
                ):
                    left = self.namespace.drop()
                if left is not None:
                    self.result.add_check(
                        "teardown_clean",
                        not left,
                        "left behind: " + ", ".join(left)
                        if left
                        else "namespace schemas and user dropped",
                    )
        finally:
            if admin is not None:
                with contextlib.suppress(Exception):
                    admin.close()

    @contextlib.contextmanager
    def _server_guard(self, doing: str, check: str) -> Iterator[None]:
        """Report a server that fails under the harness's own queries as ``server_error``.

        A killed container or a dropped network ends the admin connection too; the
        catalog read or the teardown that notices must not end the whole run with a
        driver traceback: this Element is reported, the next ones still run (and say
        the same if the server stays gone). Only the driver's errors are caught, never
        what a test's own ``with`` block raises (that passes outside these guards).
        A namespace that could not be dropped stays registered on the server, so the
        next run on it sweeps it (see :mod:`harness.db.registry`).
        """
        try:
            yield
        except self.backend.driver_errors() as exc:
            text = redact_text(f"{type(exc).__name__}: {exc}")
            failure = Failure(
                SERVER_ERROR,
                f"the database connection failed while {doing}: {text}",
                module=self.target.package,
                hint="check that the server is running and reachable (a killed container, "
                "a restarted server, a network failure), then run again",
            )
            if self.result.failure is None:
                self.result.fail(failure)
            self.result.add_check(check, False, failure.render())

    def _reactivate(
        self,
        admin: Any,
        groups: list[list[str]],
        sources: dict[str, ModuleSource],
        covers: dict[str, list[str]],
        data_root: Path,
        scope_options: dict[str, Any],
    ) -> bool:
        """Activate everything again in fresh modules; the catalog must not change.

        DataJoint does not migrate: activating a release against its own tables must
        be a no-op, or a lab's second deploy would fail (or, worse, half-succeed).
        """
        own_timer, self.timer = self.timer, _Timer({})  # steps below count as reactivation
        with own_timer("reactivate_s"):
            # Tables are dataclasses: equal exactly when their dicts are, and compared
            # without ``asdict`` (a deep copy of every attribute) unless they differ.
            first = self.backend.read_catalog(admin, self.prefix)
            kept = self.loaded
            ok = True
            for group in groups:
                self.loaded = {}
                with fresh_scope(self._packages(), **scope_options):
                    ok = self._check_group(group, sources, covers, data_root, record=False)
                if not ok:
                    break
            self.loaded = kept
            self.timer = own_timer
            second = self.backend.read_catalog(admin, self.prefix)
            self._fresh_catalog = second
        if not ok:
            self.result.add_check("reactivation_idempotent", False, "activating again failed")
            return False
        if first != second:
            changes = diff_manifests(
                {"tables": [table.to_dict() for table in first]},
                {"tables": [table.to_dict() for table in second]},
            )
            self.result.add_check(
                "reactivation_idempotent",
                False,
                "activating again changed the catalog:\n" + render_diff(changes),
            )
            return True
        self.result.add_check(
            "reactivation_idempotent", True, "a second activation in fresh modules changed nothing"
        )
        return True

    def _discover(self) -> tuple[dict[str, ModuleSource], list[str], dict[str, list[str]]] | None:
        """Read the Element's sources and choose what to activate (None: failed, recorded)."""
        target = self.target
        try:
            with self.timer("import_s"):
                sources = {
                    source.name: source
                    for source in package_sources(target.package, package_locations(target.package))
                    if source.name not in target.exclude
                }
                chosen, covers = choose_modules(sources, target.package, target.modules)
                chosen = order_by_imports(chosen, sources, target.package)
        except ModuleNotFoundError as exc:
            self._fail_import(exc, target.package)
            return None
        if not chosen:
            failure = Failure(
                IMPORT_ERROR,
                f"{target.package} holds no module with a deferred "
                "schema and an activate() function",
                module=target.package,
                hint="name the modules to check in [check].modules",
            )
            self._fail(failure, "imported")
            return None
        return sources, chosen, covers

    def _analyze(self) -> LinkingRequirements | None:
        requirements = analyze(self.loaded.values())
        functions = self.result.linking_functions
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
            UNRESOLVED_REFERENCE,
            f"{broken.table.module}.{broken.table.name}: reference {broken.reference.target!r} "
            f"cannot resolve ({broken.reason})",
            module=broken.table.module,
            table=broken.table.name,
            file=file,
            line=line,
            hint="fix the reference or define the table it names",
        )
        self._fail(failure, "references_resolved")
        return None

    def _check_group(
        self,
        group: list[str],
        sources: dict[str, ModuleSource],
        covers: dict[str, list[str]],
        data_root: Path,
        record: bool = True,
    ) -> bool:
        """Import, analyze, mock and activate one group of modules (one fresh import)."""
        if not self._import(sources, _import_order(group, covers)):
            return False
        with self.timer("plan_s"):
            requirements = self._analyze()
            if requirements is None:
                return False
            try:
                steps = self._plan(group, covers)
            except PlanError as exc:
                failure = Failure(
                    "activation_error",
                    str(exc),
                    module=group[0],
                    hint="give the argument in the spec: [[activate]] "
                    "module = ... with [activate.args]",
                )
                self._fail(failure, "activated")
                return False
        too_long = [
            f"{self.prefix}_{stem}"
            for step in steps
            for stem in step.schema_stems.values()
            if len(f"{self.prefix}_{stem}") > self.backend.max_schema_name
        ]
        if too_long:
            self._fail(
                Failure(
                    "activation_error",
                    f"schema name {too_long[0]!r} ({len(too_long[0])} characters) is longer than "
                    f"{self.backend.name} allows ({self.backend.max_schema_name})",
                    module=group[0],
                    hint="give a shorter stem in the spec: [[activate]] with [activate.args]",
                ),
                "activated",
            )
            return False
        return self._activate_steps(steps, requirements, data_root, record)

    def _run_in_scope(  # a generator: yields the live activation once, if it succeeded
        self, admin: Any, before: set[str]
    ) -> Iterator[Activation]:
        target = self.target
        assert self.namespace is not None
        scope_options = {
            "sys_path": target.sys_path,
            "stubs": target.stubs,
            "stub_all_missing": self.options.stub_missing,
        }
        stubbed: set[str] = set()
        sites: dict[str, StubSite] = {}
        modules: dict[str, Any] = {}
        ok = False
        with (
            tempfile.TemporaryDirectory(prefix=f"{self.prefix}-data-") as data_root,
            compat.connected(
                self.server.host,
                self.server.port,
                self.namespace.user,
                self.namespace.password,
                self.backend.name,
                tls=self.server.tls,
            ),
            contextlib.ExitStack() as stack,
        ):
            with fresh_scope(self._packages(), **scope_options) as finder:
                discovered = self._discover()
                stubbed |= finder.stubbed
                sites = {**finder.sites, **sites}
            if discovered is None:
                return
            sources, chosen, covers = discovered
            texts = (source.path.read_text(encoding="utf-8") for source in sources.values())
            stack.enter_context(temporary_stores(store_names(texts), Path(data_root)))
            for group in activation_groups(chosen, covers):
                self.loaded = {}
                with fresh_scope(self._packages(), **scope_options) as finder:
                    ok = self._check_group(group, sources, covers, Path(data_root))
                    stubbed |= finder.stubbed
                    sites = {**finder.sites, **sites}
                self.all_loaded.extend(self.loaded.values())
                modules.update({name: item.module for name, item in self.loaded.items()})
                if not ok:
                    break
            self.result.stubbed_imports = sorted(stubbed)
            self.result.stub_sites = sorted(sites.values(), key=lambda site: site.module)
            if ok:
                self.result.add_check(
                    "activated",
                    True,
                    f"{len(self.result.activations)} "
                    f"activate() call(s) in namespace {self.prefix}_*",
                )
            if ok:
                # DataJoint loads each table's heading from the server: catalog reading.
                with self.timer("catalog_s"):
                    self._record_datajoint_view()
            if ok and self.options.reactivate:
                ok = self._reactivate(
                    admin,
                    activation_groups(chosen, covers),
                    sources,
                    covers,
                    Path(data_root),
                    scope_options,
                )
            if ok:
                yield Activation(
                    self.result, modules, self.mock.module if self.mock else None, self.namespace
                )
            if self.result.failure is not None and self.result.failure.class_ == TIMEOUT:
                return
            self._verify(admin, before)
            with self.timer("roundtrip_s"):  # recorded as skipped when the check failed
                round_trip(
                    self.result,
                    self.prefix,
                    Path(data_root),
                    self.options,
                    known_headings=[
                        getattr(queued.cls, "_heading", None)
                        for loaded in self.all_loaded
                        for queued in loaded.tables
                    ],
                )
