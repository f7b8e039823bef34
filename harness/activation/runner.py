"""Check one Element: the orchestrator over the phases of :mod:`harness.activation.phases`.

This is the engine the CLI and the pytest plugin share: namespace → import → plan
→ mock → activate → reactivate → catalog → verify → data round trip → teardown.
Each phase records its time on the timer this module owns, and a phase that fails
raises its classified failure (:class:`~harness.activation.phases.base.PhaseFailed`)
instead of a traceback. Whatever happens, the namespace's schemas and user are
dropped before the check returns.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.activation import compat
from harness.activation.discovery import LoadedModule
from harness.activation.failures import FailureClass
from harness.activation.log_writers import log_writers_shared
from harness.activation.namespace import Namespace
from harness.activation.phases import cataloging, imports, reactivating, verifying
from harness.activation.phases.base import (
    CheckContext,
    PhaseFailed,
    Timer,
    blame_a_vanished_server,
    server_guard,
)
from harness.activation.phases.capture import reported_warnings
from harness.activation.phases.group import Group, run_group
from harness.activation.phases.teardown import ServerSession, namespace_session
from harness.activation.scope import fresh_scope
from harness.activation.stubs import StubSite
from harness.db.backends import get_backend
from harness.db.catalog import Table
from harness.db.server import ServerInfo
from harness.elements.targets import Target
from harness.results import ElementResult
from harness.roundtrip.check import round_trip
from harness.roundtrip.stores import store_names, temporary_stores


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


@dataclass
class _Activated:
    """What the activation phases leave for verification."""

    #: The live activation to hand over; None when activation did not succeed.
    live: Activation | None = None
    #: Whether verification and the round trip run (not when nothing could be imported).
    verify: bool = False
    all_loaded: list[LoadedModule] = field(default_factory=list)
    view: cataloging.DataJointView = field(default_factory=dict)
    #: The reactivation's catalog read: reused when no caller code ran since.
    catalog: list[Table] | None = None
    #: The check's data directory (file stores, linking functions' paths).
    data_root: Path = field(default_factory=Path)


class _Stubs:
    """The stubbed imports of every scope of the check, for the result."""

    def __init__(self) -> None:
        self.stubbed: set[str] = set()
        self.sites: dict[str, StubSite] = {}

    def add(self, finder: Any) -> None:
        self.stubbed |= finder.stubbed
        self.sites = {**finder.sites, **self.sites}

    def store(self, result: ElementResult) -> None:
        result.stubbed_imports = sorted(self.stubbed)
        result.stub_sites = sorted(self.sites.values(), key=lambda site: site.module)


class ElementCheck:
    """One check of one target on one server; :meth:`run` returns the result.

    ``on_step(name)`` is called as each step (``namespace``, ``import``, ``activate``,
    ...) begins, for progress displays.
    """

    def __init__(
        self,
        target: Target,
        server: ServerInfo,
        prefix: str,
        options: CheckOptions | None = None,
        *,
        on_step: Callable[[str], None] | None = None,
    ) -> None:
        self.options = options or CheckOptions()
        self.result = ElementResult(target=target.text, name=target.name, version=target.version)
        self.context = CheckContext(
            target=target,
            server=server,
            prefix=prefix,
            backend=get_backend(server.backend),
            result=self.result,
            timeout=target.timeout or self.options.timeout,
            stub_missing=self.options.stub_missing,
        )
        self.timer = Timer(self.result.timings, on_step)

    def run(self) -> ElementResult:
        """Run the whole check and return its result; nothing is left on the server."""
        with self._checked(caller_code=False):
            pass  # nothing runs between activation and verification here
        blame_a_vanished_server(self.context)
        return self.result

    @contextlib.contextmanager
    def activated(self) -> Iterator[Activation]:
        """Activate, hand the live activation to the caller, then verify and tear down.

        Tests use the yielded :class:`Activation` to insert and fetch rows through
        the Element's own modules; verification and teardown run when the block ends.
        """
        with self._checked(caller_code=True) as activation:
            yield activation
        blame_a_vanished_server(self.context)

    @contextlib.contextmanager
    def _checked(self, *, caller_code: bool) -> Iterator[Activation]:
        context, result = self.context, self.result
        compat.require_backend_support(context.backend.name)
        with namespace_session(context, self.timer) as session:
            if session is None:  # the server failed first: reported, nothing to undo
                yield Activation(result)
                return
            unfinished = Activation(result, namespace=session.namespace)
            # The data directory, DataJoint's connection and the temporary stores
            # stay until the round trip is done.
            with contextlib.ExitStack() as scope:
                activated = _Activated()
                with self._guarded("reading the catalog"):
                    # The harness's own steps only: a caller's code runs with DataJoint as is.
                    with log_writers_shared():
                        activated = self._activate(session, scope)
                    if activated.live is None and activated.verify:
                        self._finish(session, activated, activated.catalog)
                if activated.live is None:
                    yield unfinished
                    return
                yield activated.live
                with self._guarded("reading the catalog"):
                    # A caller's code may have changed the server since the last read.
                    self._finish(session, activated, None if caller_code else activated.catalog)

    @contextlib.contextmanager
    def _guarded(self, doing: str) -> Iterator[None]:
        """Warnings into the report; the server failing under the harness's queries reported."""
        with (
            reported_warnings(self.result, self.context.target.package),
            server_guard(self.context, doing, "declared_all"),
        ):
            yield

    def _activate(self, session: ServerSession, scope: contextlib.ExitStack) -> _Activated:
        """Import, plan, mock and activate every group; catalog DataJoint's view; reactivate."""
        context, result, timer = self.context, self.result, self.timer
        server = context.server
        data_root = Path(
            scope.enter_context(tempfile.TemporaryDirectory(prefix=f"{context.prefix}-data-"))
        )
        scope.enter_context(
            compat.connected(
                *server.address(),
                session.namespace.user,
                session.namespace.password,
                context.backend.name,
                tls=server.tls,
            )
        )
        stubs = _Stubs()
        try:
            with fresh_scope(context.packages(), **context.scope_options) as finder:
                discovery = imports.discover(context, timer)
                stubs.add(finder)
        except PhaseFailed as failed:
            failed.record(result)
            return _Activated()
        texts = (source.path.read_text(encoding="utf-8") for source in discovery.sources.values())
        scope.enter_context(temporary_stores(store_names(texts), data_root))
        activated = _Activated(verify=True, data_root=data_root)
        modules: dict[str, Any] = {}
        group: Group | None = None
        try:
            for names in discovery.groups():
                group = Group(names)
                with fresh_scope(context.packages(), **context.scope_options) as finder:
                    try:
                        run_group(context, discovery, group, data_root, timer)
                    finally:
                        stubs.add(finder)
                        activated.all_loaded.extend(group.loaded.values())
                        modules.update({name: item.module for name, item in group.loaded.items()})
        except PhaseFailed as failed:
            failed.record(result)
            stubs.store(result)
            return activated
        stubs.store(result)
        result.add_check(
            "activated",
            True,
            f"{len(result.activations)} activate() call(s) in namespace {context.prefix}_*",
        )
        # DataJoint loads each table's heading from the server: catalog reading.
        with timer("catalog_s"):
            activated.view = cataloging.datajoint_view(context, activated.all_loaded)
        if self.options.reactivate:
            try:
                activated.catalog = reactivating.reactivate(
                    context, session.admin, discovery, data_root, timer
                )
            except reactivating.ReactivationFailed as failed:
                failed.record(result)
                activated.catalog = failed.catalog
                return activated
        mock = group.mock if group is not None else None
        activated.live = Activation(
            result, modules, mock.module if mock else None, session.namespace
        )
        return activated

    def _finish(
        self,
        session: ServerSession,
        activated: _Activated,
        catalog: list[Table] | None,
    ) -> None:
        """Verify and round-trip; not after a timeout (the hung call may still hold tables)."""
        result = self.result
        if result.failure is not None and result.failure.class_ == FailureClass.TIMEOUT:
            return
        verifying.verify(
            self.context,
            session.admin,
            session.before,
            activated.all_loaded,
            activated.view,
            catalog,
            self.timer,
            manifest_dir=self.options.manifest_dir,
            update_manifests=self.options.update_manifests,
        )
        # Timed only when asked for (a check that failed records it skipped, in no time).
        timed = self.timer("roundtrip_s") if self.options.data else contextlib.nullcontext()
        with timed:
            round_trip(
                result,
                self.context.prefix,
                activated.data_root,
                self.options,
                known_headings=[
                    getattr(queued.cls, "_heading", None)
                    for loaded in activated.all_loaded
                    for queued in loaded.tables
                ],
            )
