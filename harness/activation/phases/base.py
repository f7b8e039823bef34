"""What the phases of a check share: its context, its timer, and how a phase fails."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.activation.failures import SERVER_GONE_HINT, Failure, FailureClass, classify
from harness.activation.mocks import DeclaredMocks
from harness.activation.namespace import Namespace
from harness.db.backends.base import Backend
from harness.db.server import ServerInfo
from harness.elements.targets import Target
from harness.redact import redact_text
from harness.results import ElementResult

#: Schema stem of the mock tables.
MOCK_STEM = "mock"
#: Schema stems of the real upstream Elements a spec names start so.
UPSTREAM_STEM_PREFIX = "up_"


class PhaseFailed(Exception):
    """A phase could not complete: ``failure`` says why, ``check`` is the check it fails."""

    def __init__(self, failure: Failure, check: str) -> None:
        super().__init__(failure.render())
        self.failure = failure
        self.check = check

    def record(self, result: ElementResult) -> None:
        """Make this the result's failure and fail its check (recording twice changes nothing)."""
        result.fail(self.failure)
        result.add_check(self.check, False, self.failure.render())


class Timer:
    """Adds each step's wall-clock time to ``timings`` under its name (``import_s``, ...).

    ``on_step`` learns each step's name as it begins: all a progress display needs,
    without a phase knowing of one.
    """

    def __init__(
        self, timings: dict[str, float], on_step: Callable[[str], None] | None = None
    ) -> None:
        self.timings = timings
        self.on_step = on_step

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        if self.on_step is not None:
            self.on_step(name.removesuffix("_s"))
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - started

    def quiet(self) -> Timer:
        """A timer whose steps are neither kept nor announced (they count in an outer step)."""
        return Timer({})


@dataclass
class CheckContext:
    """The check's fixed facts, and the result every phase adds to."""

    target: Target
    server: ServerInfo
    prefix: str
    backend: Backend
    result: ElementResult
    #: The activation deadline of each ``activate`` call, in seconds.
    timeout: float
    stub_missing: bool = False
    namespace: Namespace | None = None
    scope_options: dict[str, Any] = field(default_factory=dict)
    #: Mock tables declared so far, reused by later groups and the reactivation.
    mocks: DeclaredMocks = field(default_factory=DeclaredMocks)

    def __post_init__(self) -> None:
        self.scope_options = {
            "sys_path": self.target.sys_path,
            "stubs": self.target.stubs,
            "stub_all_missing": self.stub_missing,
        }

    def packages(self) -> tuple[str, ...]:
        """The Element's package and those its spec takes upstream tables from."""
        upstream = {path.split(".")[0] for path in self.target.upstream.values()}
        return (self.target.package, *sorted(upstream - {self.target.package}))

    def schema(self, stem: str) -> str:
        """The full name of schema ``stem`` in this check's namespace."""
        return f"{self.prefix}_{stem}"

    def stem(self, schema: str) -> str:
        """The stem of a schema of this namespace (``<prefix>_lab`` -> ``lab``)."""
        return schema[len(self.prefix) + 1 :]

    def classify(
        self, exc: BaseException, *, phase: str, module: str, linking_module: Any = None
    ) -> Failure:
        """The failure class, module, table and line of what the Element raised."""
        return classify(
            exc,
            phase=phase,
            module=module,
            packages=(self.target.package,),
            prefix=self.prefix,
            linking_module=linking_module,
        )

    def own_modules(self) -> dict[str, Any]:
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

    def end_sessions(self) -> None:
        """End the namespace user's sessions, so that an ``activate`` blocked in SQL returns."""
        if self.namespace is None:
            return
        with contextlib.suppress(Exception):
            self.backend.end_sessions(self.namespace.admin, self.namespace.user)


@contextlib.contextmanager
def server_guard(context: CheckContext, doing: str, check: str) -> Iterator[None]:
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
    except context.backend.driver_errors() as exc:
        text = redact_text(f"{type(exc).__name__}: {exc}")
        failure = Failure(
            FailureClass.SERVER_ERROR,
            f"the database connection failed while {doing}: {text}",
            module=context.target.package,
            hint=SERVER_GONE_HINT,
        )
        context.result.record_failure(check, failure)


#: How long the server may take to answer the check's last question: is it still there?
LIVENESS_TIMEOUT_S = 2.0


def blame_a_vanished_server(context: CheckContext) -> None:
    """Report a failed check whose server is gone as ``server_error``, whatever it saw first.

    When a server dies under a check, what DataJoint meets first depends on timing:
    a lost connection, or, when its reconnect reaches an address the engine has
    since given to another container, that server refusing the namespace's user
    ("access denied", which reads like a namespace violation). So a check that
    failed for any other reason asks one question at the server's published
    address, as its admin: a server that answers is the one this run started or
    was given (its password is this run's), and the failure stands; one that does
    not is the cause, and the first diagnosis is kept in the message.
    """
    result, server = context.result, context.server
    failure = result.failure
    if failure is None or failure.class_ is FailureClass.SERVER_ERROR:
        return
    try:
        context.backend.probe(
            server.host,
            server.port,
            server.admin_user,
            server.admin_password,
            timeout=LIVENESS_TIMEOUT_S,
            tls=server.tls,
        )
    except Exception as exc:  # whatever the driver says, the server did not answer
        gone = redact_text(f"{type(exc).__name__}: {exc}".splitlines()[0])
        result.fail(
            Failure(
                FailureClass.SERVER_ERROR,
                f"the server stopped answering during the check ({gone}); what the check "
                f"met first: {failure.class_}: {failure.message}",
                module=failure.module,
                table=failure.table,
                file=failure.file,
                line=failure.line,
                hint=SERVER_GONE_HINT,
            )
        )
