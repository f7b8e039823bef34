"""What runs inside a check's own process: a neutral interpreter, the check, the result.

Before any Element code runs, the process is made harmless to its parent: its
own process group (the parent can kill it and whatever it started, and a
terminal's Ctrl-C reaches the parent only), death with its parent (Linux), no
stdin, stdout and stderr into a file the parent reads the tail of, and a
``sys.argv`` without the harness's options (an Element that parses the command
line at import sees none of them). ``faulthandler`` writes a traceback on a
hard crash, and on ``SIGUSR1``, which the parent sends before it kills a check
past its deadline: both say where the process was.

The result goes back over a pipe as data (:meth:`ElementResult.to_dict`), steps
as they begin; then the process ends with ``os._exit``, so threads an Element
left running cannot keep it alive. What the check did to the process that
would have harmed a shared one (``SystemExit``, threads left running, ``os.chdir``,
changes to ``dj.config`` outside its ``custom`` key, where Elements keep their
own settings by convention) is reported as the Element's failure.
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from harness import redact
from harness.activation.failures import Failure, FailureClass, element_frame
from harness.activation.runner import CheckOptions
from harness.db.server import ServerInfo
from harness.elements.targets import Target
from harness.results import ElementResult

#: Exit status of a check process whose harness code failed before reporting.
EXIT_INTERNAL = 70
#: The real ``os._exit``: the process's own last call (Element code gets a reporting one).
_EXIT = os._exit
_PR_SET_PDEATHSIG = 1
#: The check name under which process-level failures are recorded.
PROCESS_CHECK = "process"
#: DataJoint's place for an Element's own settings: Elements fill it at import
#: (element-calcium-imaging sets ``custom["imaging_root_data_dir"]``), by convention.
OWN_CONFIG_KEYS = frozenset({"custom"})


def run_child(
    connection: Any,
    target: Target,
    server: ServerInfo,
    options: CheckOptions,
    prefix: str,
    version: str | None,
    output: str,
) -> None:
    """The check process's whole life; never returns (``os._exit``)."""
    status = EXIT_INTERNAL
    try:
        _neutralise(Path(output))
        result = _check(connection, target, server, options, prefix, version)
        connection.send(("result", result.to_dict()))
        status = 0
    except BaseException:  # the harness's own code failed: the parent reports the output
        with contextlib.suppress(BaseException):
            traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        _EXIT(status)


def _reporting_exit(status: int) -> None:
    """``os._exit`` for Element code: say where it was called from, then exit."""
    with contextlib.suppress(BaseException):
        print(f"harness: os._exit({status!r}) called", file=sys.stderr)
        traceback.print_stack(file=sys.stderr)
        sys.stderr.flush()
    _EXIT(status)


def _neutralise(output: Path) -> None:
    """Detach the process from the parent's terminal, signals, argv and output."""
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sink = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(sink, 1)
    os.dup2(sink, 2)
    os.close(sink)
    # Fresh objects over the redirected descriptors: the parent's may be a live
    # display's proxy, whose lock a thread of the parent may have held at fork.
    sys.stdout = sys.__stdout__ = open(1, "w", buffering=1, closefd=False, errors="replace")  # noqa: SIM115
    sys.stderr = sys.__stderr__ = open(2, "w", buffering=1, closefd=False, errors="replace")  # noqa: SIM115
    sys.stdin = sys.__stdin__ = open(0, closefd=False)  # noqa: SIM115
    sys.argv = [sys.argv[0] if sys.argv else "harness"]
    faulthandler.enable(file=sys.stderr, all_threads=True)
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
    os._exit = _reporting_exit


def _check(
    connection: Any,
    target: Target,
    server: ServerInfo,
    options: CheckOptions,
    prefix: str,
    version: str | None,
) -> ElementResult:
    from harness.session import new_check

    redact.on_secret(lambda secret: connection.send(("secret", secret)))
    cwd = _cwd()
    config = config_snapshot()
    check = new_check(
        target, server, prefix, options, on_step=lambda name: connection.send(("step", name))
    )
    if version is not None:
        check.result.version = version
    try:
        result = check.run()
    except BaseException as exc:  # Element code ended or interrupted the process
        result = check.result
        record(result, escaped_failure(exc, target))
    changed = _state_changes(cwd, config)
    if changed:
        record(
            result,
            Failure(
                FailureClass.GLOBAL_STATE,
                f"{target.package} changed the process it ran in: " + "; ".join(changed),
                module=target.package,
                hint="an Element runs inside its users' programs: it must not leave threads "
                "running (make them daemon threads, or join them), change the working "
                "directory or change dj.config at import or in activate",
            ),
        )
    return result


def record(result: ElementResult, failure: Failure) -> None:
    """Make ``failure`` the result's failure unless it has one; record it as a check."""
    result.record_failure(PROCESS_CHECK, failure)


def escaped_failure(exc: BaseException, target: Target) -> Failure:
    """A failure for what escaped Element code: ``SystemExit``, ``KeyboardInterrupt``, ..."""
    where = element_frame(exc.__traceback__, (target.package.split(".")[0],))
    file, line = where if where else (None, None)
    if isinstance(exc, SystemExit):
        what = f"SystemExit({exc.code!r})"
    else:
        what = f"{type(exc).__name__}: {exc}".rstrip(": ")
    if isinstance(exc, Exception):  # not Element code ending the process: a harness gap
        return Failure(
            FailureClass.ACTIVATION_ERROR,
            f"checking {target.package} raised {what}",
            module=target.package,
            file=file,
            line=line,
        )
    return Failure(
        FailureClass.PROCESS_EXIT,
        f"{target.package} raised {what}, which ends the program it runs in",
        module=target.package,
        file=file,
        line=line,
        hint="an Element must raise an ordinary exception, never exit or interrupt; "
        "command-line parsing (argparse) belongs under `if __name__ == '__main__':`",
    )


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:
        return None


def config_snapshot() -> dict[str, str]:
    """``dj.config`` as text per key, to see afterwards what Element code changed."""
    import datajoint as dj

    config: Any = dj.config
    try:
        data = config.model_dump() if hasattr(config, "model_dump") else dict(config.items())
    except Exception:  # an unusual config object: compare it whole
        return {"": repr(config)}
    return _flattened(data)


def _flattened(data: dict[Any, Any], stem: str = "") -> dict[str, str]:
    """``{"display": {"limit": 7}}`` (DataJoint 2's nested settings) as ``display.limit``."""
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{stem}{key}"
        if isinstance(value, dict) and value and stem.count(".") < 3:
            flat.update(_flattened(value, name + "."))
        else:
            flat[name] = repr(value)
    return flat


def _state_changes(cwd: str | None, config: dict[str, str]) -> list[str]:
    """What the check left different in the process: threads, working directory, config."""
    changes = []
    for thread in threading.enumerate():
        if thread is threading.current_thread() or thread.daemon or not thread.is_alive():
            continue
        changes.append(f"left thread {thread.name!r} running{_started_at(thread)}")
    now = _cwd()
    if now != cwd:
        changes.append(f"changed the working directory to {now}")
    after = config_snapshot()
    keys = sorted(
        key
        for key in set(config) | set(after)
        if config.get(key) != after.get(key) and key.split(".")[0] not in OWN_CONFIG_KEYS
    )
    if keys:
        changes.append("changed dj.config: " + ", ".join(keys))
    return list(dict.fromkeys(changes))  # a module imported twice starts its thread twice


def _started_at(thread: threading.Thread) -> str:
    """`` (its target at file:line)`` when the thread's code is known."""
    function = getattr(thread, "_target", None)
    if function is None and type(thread).run is not threading.Thread.run:
        function = type(thread).run
    code = getattr(function, "__code__", None)
    if code is None:
        return ""
    return f" (its code at {code.co_filename}:{code.co_firstlineno})"
