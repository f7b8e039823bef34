"""The parent's side: one process per check, at most ``jobs`` at once, always a result.

The parent owns the server, the namespace registry, the progress display and the
report; a check's process owns nothing it could take down with it. Every way
such a process can end becomes that Element's result: the result it sent, or,
when it sent none, a classified failure (``timeout`` past its deadline,
``crash`` for a signal, ``process_exit`` for an exit) naming the step it was
in, the Element line where a traceback shows one, and the last lines of its
output; its namespace and user are then dropped here.

Processes are forked from this one, which imports DataJoint, numpy, pandas and
the driver first, so a check starts with everything heavy already loaded (the
figures that chose ``fork`` are in docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import multiprocessing
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from harness import redact
from harness.activation.failures import Failure, FailureClass
from harness.activation.namespace import new_prefix
from harness.activation.runner import CheckOptions
from harness.db import registry
from harness.db.backends import get_backend
from harness.db.server import ServerInfo
from harness.elements.targets import Target
from harness.isolation.child import EXIT_INTERNAL, record, run_child
from harness.redact import redact_text
from harness.results import ElementResult, Status
from harness.runinfo import RunIdentity

#: How check processes start: ``fork`` (of a parent with the heavy imports done),
#: ``forkserver`` or ``spawn``; bench/isolation.py measures all three.
START_METHOD = "fork"
#: Imported once in the parent so that every forked check has them for free.
PRELOAD = ("datajoint", "numpy", "pandas", "pymysql", "psycopg2")
#: Lines of a check's output kept in its result when it did not pass.
TAIL_LINES = 20
_TAIL_BYTES = 256 * 1024
#: Between asking a check past its deadline for a traceback and killing it.
_TRACEBACK_GRACE = 0.5
_preloaded: list[bool] = []
_preloading: list[threading.Thread] = []
_preload_lock = threading.Lock()
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')


def deadline_for(target: Target, options: CheckOptions) -> float:
    """Wall-clock seconds one check's process may take, everything included.

    Activation runs twice (reactivation) under the activation timeout; import,
    catalog and teardown get ten seconds more. A process still running then is
    killed and its check reported as ``timeout``.
    """
    return 2 * (target.timeout or options.timeout) + 10.0


def default_jobs() -> int:
    """Checks at once when ``jobs`` is not set: the number of cores."""
    return max(1, os.cpu_count() or 1)


def preload() -> None:
    """Import what every check needs, once, before the first process is forked.

    When :func:`preload_in_background` started the imports, this waits for them, so
    that no process is forked while another thread is importing.
    """
    if _preloading:
        _preloading.pop().join()
    _import_all()


def _import_all() -> None:
    with _preload_lock:
        if _preloaded:
            return
        for name in PRELOAD:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
        gc.collect()  # what is garbage now must not be frozen into every child
        _preloaded.append(True)


def preload_in_background() -> None:
    """Start the imports now, in a thread, while the caller waits for something else.

    A cold run waits for its server container (a second or more) and then for the
    imports of DataJoint, numpy and pandas (seconds): the two overlap instead.
    """
    if _preloaded or _preloading:
        return
    thread = threading.Thread(target=_preload_quietly, name="harness-preload", daemon=True)
    _preloading.append(thread)
    thread.start()


def _preload_quietly() -> None:
    # Whatever goes wrong here happens again, and is reported, when preload() runs.
    with contextlib.suppress(Exception):
        _import_all()


def _freeze_heap() -> None:
    """Keep the child's garbage collector off the parent's objects.

    A forked child shares the parent's memory until it writes to it; a collection
    that walks every inherited object writes to all their headers and copies the
    heap page by page (hundreds of milliseconds with DataJoint and pandas loaded).
    Frozen objects are never examined; bench/isolation.py measures the difference.
    """
    gc.freeze()


@dataclass
class _Running:
    """One check's process, as the parent follows it."""

    index: int
    target: Target
    prefix: str
    version: str | None
    process: Any
    connection: Any
    output: Path
    limit: float
    started: float = field(default_factory=time.monotonic)
    data: dict[str, Any] | None = None
    step: str | None = None
    timed_out: bool = False

    @property
    def deadline(self) -> float:
        return self.started + self.limit


def run_isolated(
    targets: Sequence[Target],
    server: ServerInfo,
    run: RunIdentity,
    options: CheckOptions,
    *,
    jobs: int | None = None,
    on_start: Callable[[Target], None] | None = None,
    on_step: Callable[[Target, str], None] | None = None,
    on_result: Callable[[ElementResult], None] | None = None,
) -> list[ElementResult]:
    """Check every target in a process of its own; results in the order of ``targets``.

    Up to ``jobs`` checks run at once (default: the number of cores). All callbacks
    are called from this thread, one at a time, so displays need no locking.
    """
    from harness.session import missing_result, release_version

    jobs = max(1, jobs or default_jobs())
    preload()
    _sweep_dead_namespaces(server)
    context = multiprocessing.get_context(START_METHOD)
    results: list[ElementResult | None] = [None] * len(targets)
    queue = deque(enumerate(targets))
    running: list[_Running] = []
    scratch = Path(tempfile.mkdtemp(prefix="element-harness-output-"))

    def finish(index: int, result: ElementResult) -> None:
        results[index] = result
        if on_result is not None:
            on_result(result)

    try:
        while queue or running:
            while queue and len(running) < jobs:
                index, target = queue.popleft()
                if on_start is not None:
                    on_start(target)
                missing = missing_result(target)
                if missing is not None:
                    finish(index, missing)
                    continue
                version = release_version(target)
                running.append(
                    _start(context, index, target, server, run, options, version, scratch)
                )
            if not running:
                continue
            _wait_any(running)
            for child in list(running):
                ended = _follow(child, on_step)
                if not ended and time.monotonic() > child.deadline:
                    _kill(child, traceback_first=True)
                    child.timed_out = True
                    ended = True
                if ended:
                    running.remove(child)
                    finish(child.index, _conclude(child, server))
    finally:
        for child in running:  # interrupted: stop every check, leave nothing behind
            _kill(child, traceback_first=False)
            _drop_namespace(server, child.prefix)
        shutil.rmtree(scratch, ignore_errors=True)
    return [result for result in results if result is not None]


def _start(
    context: Any,
    index: int,
    target: Target,
    server: ServerInfo,
    run: RunIdentity,
    options: CheckOptions,
    version: str | None,
    scratch: Path,
) -> _Running:
    prefix = new_prefix(run.run_id)  # known here, so a dead check's namespace can be dropped
    output = scratch / f"{prefix}.out"
    reader, writer = context.Pipe(duplex=False)
    process = context.Process(
        target=run_child,
        args=(writer, target, server, options, prefix, version, str(output)),
        name=f"harness-check-{target.name}",
        daemon=False,
    )
    with _flushed():
        _freeze_heap()
        process.start()
    writer.close()  # the child holds the only writer: its end is our EOF
    return _Running(
        index,
        target,
        prefix,
        version,
        process,
        reader,
        output,
        limit=deadline_for(target, options),
    )


@contextlib.contextmanager
def _flushed() -> Any:
    """Flush our buffered output so a forked child does not print it a second time."""
    import sys

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    yield


def _wait_any(running: list[_Running]) -> None:
    """Block until a check sends something or ends, or the nearest deadline passes."""
    nearest = min(child.deadline for child in running) - time.monotonic()
    handles: list[Any] = []
    for child in running:
        handles += [child.connection, child.process.sentinel]
    wait(handles, timeout=max(0.0, min(nearest, 1.0)))


def _follow(child: _Running, on_step: Callable[[Target, str], None] | None) -> bool:
    """Read what the check sent; True when its process has ended.

    The pipe is read again once the process is seen to have ended: a check may
    send its result and exit between the first read and that look, and what it
    sent is still in the pipe then.
    """
    _read_sent(child, on_step)
    if child.process.is_alive():
        return False
    child.process.join()
    _read_sent(child, on_step)
    return True


def _read_sent(child: _Running, on_step: Callable[[Target, str], None] | None) -> None:
    """Take every message already in the check's pipe, without waiting for more."""
    while True:
        try:
            if not child.connection.poll():
                break
            kind, payload = child.connection.recv()
        except (EOFError, OSError):
            break
        except Exception:  # garbage on the pipe (Element code wrote to it): no result
            break
        if kind == "step":
            child.step = str(payload)
            if on_step is not None:
                on_step(child.target, child.step)
        elif kind == "secret":  # the check's namespace password: masked here too
            redact.register_secret(str(payload))
        elif kind == "result":
            child.data = payload


def _kill(child: _Running, *, traceback_first: bool) -> None:
    """End the check's process group; first ask it for a traceback when useful."""
    pid = child.process.pid
    if pid is None:
        return
    if traceback_first and child.process.is_alive():
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGUSR1)
        child.process.join(_TRACEBACK_GRACE)
    for send in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            send()
            break
        except OSError:
            continue
    child.process.join(10.0)


def _conclude(child: _Running, server: ServerInfo) -> ElementResult:
    """The check's result: the one it sent, or a classified failure of its process."""
    tail = _tail(child.output)
    result = None
    if child.data is not None and not child.timed_out:
        with contextlib.suppress(Exception):
            result = ElementResult.from_dict(child.data)
    if result is None:
        target = child.target
        result = ElementResult(target=target.text, name=target.name, version=child.version)
        record(result, _death(child, tail))
        result.timings["process_s"] = time.monotonic() - child.started
        left = _drop_namespace(server, child.prefix)
        result.add_check(
            "teardown_clean",
            not left,
            "left behind: " + ", ".join(left)
            if left
            else "the check's process died; the harness dropped its namespace and user",
        )
    if result.status != Status.PASSED:
        result.output = tail[-TAIL_LINES:]
    return result


def _death(child: _Running, tail: list[str]) -> Failure:
    """Why a check's process ended without a result, and where, when its output says."""
    target = child.target
    during = f" during {child.step}" if child.step else ""
    code = child.process.exitcode
    file, line = _element_line(tail, target.package.split(".")[0])
    if child.timed_out:
        return Failure(
            FailureClass.TIMEOUT,
            f"{target.package} did not finish within {child.limit:g} s{during}; its process "
            "was killed",
            module=target.package,
            file=file,
            line=line,
            hint="something at import or in activate blocks (a lock, a network share, a "
            "prompt, an endless loop); raise the timeout only if the Element is slow, not stuck",
        )
    if code is not None and code < 0:
        name = _signal_name(-code)
        return Failure(
            FailureClass.CRASH,
            f"{target.package}'s process died of {name}{during}",
            module=target.package,
            file=file,
            line=line,
            hint="native code crashed or something killed the process; the last lines of "
            "its output are in the report",
        )
    cause = (
        "the harness's own code failed in it (see its output)"
        if code == EXIT_INTERNAL
        else "os._exit or a native exit"
    )
    return Failure(
        FailureClass.PROCESS_EXIT,
        f"{target.package}'s process ended with exit status {code}{during} before the "
        f"check was complete: {cause}",
        module=target.package,
        file=file,
        line=line,
        hint="an Element must never end the program it runs in; raise an exception instead",
    )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _element_line(tail: list[str], package: str) -> tuple[str | None, int | None]:
    """The Element's innermost frame in a traceback printed by the process, if any."""
    text = "\n".join(tail)
    matches = [
        match
        for match in _FRAME.finditer(text)
        if f"/{package}/" in match["file"] or match["file"].endswith(f"/{package}.py")
    ]
    if not matches:
        return None, None
    # faulthandler prints the most recent call first; traceback.print_stack last.
    chosen = matches[0] if "most recent call first" in text else matches[-1]
    return chosen["file"], int(chosen["line"])


def _tail(path: Path) -> list[str]:
    """The last lines of a check's output (megabytes of it cost a seek, not a read)."""
    try:
        with open(path, "rb") as stream:
            stream.seek(0, os.SEEK_END)
            size = stream.tell()
            stream.seek(max(0, size - _TAIL_BYTES))
            data = stream.read()
    except OSError:
        return []
    lines = data.decode("utf-8", errors="replace").splitlines()
    if size > _TAIL_BYTES and lines:
        lines = lines[1:]  # the first line read is cut
    kept = [line.rstrip() for line in lines if line.strip()]
    # faulthandler's list of loaded extension modules says nothing about the Element.
    kept = [line for line in kept if not line.startswith("Extension modules:")]
    return [redact_text(line) for line in kept][-200:]


def _sweep_dead_namespaces(server: ServerInfo) -> None:
    """Drop dead runs' namespaces once, here, before checks start (children inherit that)."""
    backend = get_backend(server.backend)
    try:
        admin = backend.connect(
            *server.address(), server.admin_user, server.admin_password, tls=server.tls
        )
    except backend.driver_errors():
        return  # each check reports the server's failure itself
    try:
        registry.sweep_dead_namespaces(backend, admin, (server.host, server.port))
    except backend.driver_errors():
        pass
    finally:
        with contextlib.suppress(Exception):
            admin.close()


def _drop_namespace(server: ServerInfo, prefix: str) -> list[str]:
    """Drop the namespace and user of a check that died; return what is left."""
    backend = get_backend(server.backend)
    try:
        admin = backend.connect(
            *server.address(), server.admin_user, server.admin_password, tls=server.tls
        )
    except backend.driver_errors() as exc:
        return [f"namespace {prefix} (server unreachable: {redact_text(str(exc))})"]
    try:
        backend.drop_namespace(admin, prefix, prefix)
        left = backend.namespace_schemas(admin, prefix)
        if backend.user_exists(admin, prefix):
            left.append(f"user {prefix}")
        if not left:
            with contextlib.suppress(backend.driver_errors()):  # it may never have registered
                registry.unregister(backend, admin, prefix)
        return left
    except backend.driver_errors() as exc:
        return [f"namespace {prefix} ({redact_text(str(exc))})"]
    finally:
        with contextlib.suppress(Exception):
            admin.close()
