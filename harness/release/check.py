"""Checking one side, from the parent: a child interpreter that can only see that release.

The child (:mod:`harness.release.child`) runs with an empty temporary working
directory, ``PYTHONSAFEPATH`` set, and the side's directory first on
``PYTHONPATH``, so the user's working directory (often the Element's own
repository) cannot supply the package. A side *fails* only when its check has a
failure (it did not import, activate or declare); other failed checks and the
spec's notes are carried along as notes, and no reviewed manifest is consulted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.db.server import ServerInfo
from harness.errors import HarnessError
from harness.release.sides import ElementRef, Side

#: Seconds for one side's check (installing is done before, by :mod:`harness.release.sides`).
CHECK_TIMEOUT = 900.0
_TERMINATE_GRACE = 10.0
#: Children still running, so an interrupted release check can end them (see :func:`stop_all`).
_RUNNING: set[subprocess.Popen[str]] = set()
_RUNNING_LOCK = threading.Lock()


def stop_all() -> None:
    """Terminate every side's child still running (Ctrl-C or SIGTERM in the parent).

    The children run in worker threads, which an interrupt does not reach; without
    this the parent would wait for them before removing the server.
    """
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for process in running:
        if process.poll() is None:
            process.terminate()


@dataclass
class SideResult:
    """What checking one side gave: its manifest, or the failure that prevented one."""

    side: Side
    manifest: dict[str, Any] | None
    failure: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)
    imported_from: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)
    tables: int = 0
    #: The DataJoint version the side was checked under (its interpreter's).
    datajoint: str | None = None

    @property
    def failed(self) -> bool:
        return self.failure is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.side.to_dict(),
            "status": "failed" if self.failed else "passed",
            "failure": self.failure,
            "notes": self.notes,
            "imported_from": self.imported_from,
            "modules": self.modules or "discovered",
            "tables": self.tables,
            "datajoint": self.datajoint,
        }


def describe_failure(failure: Mapping[str, Any]) -> str:
    """``declaration_error in pkg.mod, table Subject, at pkg/mod.py:31: message``.

    Class, module and definition line are always named; what is unknown is said
    to be unknown, never printed as ``None``.
    """
    klass = failure.get("class") or "unclassified failure"
    module = failure.get("module") or "an unknown module"
    text = f"{klass} in {module}"
    if failure.get("table"):
        text += f", table {failure['table']}"
    if failure.get("file") and failure.get("line"):
        text += f", at {failure['file']}:{failure['line']}"
    else:
        text += ", no definition line (the failure is not in a table definition)"
    message = failure.get("message") or "no message"
    text += f": {message}"
    if failure.get("hint"):
        text += f"\n  hint: {failure['hint']}"
    return text


def _harness_root() -> str:
    """The directory the harness itself is imported from (the child must find it too)."""
    import harness

    return str(Path(next(iter(harness.__path__))).resolve().parent)


def child_environment(side: Side, *, own_interpreter: bool = True) -> dict[str, str]:
    """The child's environment: the side's directory first, nothing chosen from the cwd.

    In this interpreter the child must find the harness where the parent did. In
    another DataJoint version's environment it uses that environment's own harness:
    the parent's directory could be a ``site-packages`` holding the parent's
    DataJoint, which would then shadow the one the side is to be checked under.
    """
    from harness.matrix.runner import child_environment as without_server_choice

    env = without_server_choice()
    inherited = [part for part in env.get("PYTHONPATH", "").split(os.pathsep) if part]
    deps = [str(side.deps)] if side.deps else []
    harness = [_harness_root()] if own_interpreter else []
    if not own_interpreter:
        inherited = []
    env["PYTHONPATH"] = os.pathsep.join([str(side.root), *deps, *inherited, *harness])
    env["PYTHONSAFEPATH"] = "1"  # Python >= 3.11: no script or cwd entry on sys.path
    return env


def _describe_checks(result: Mapping[str, Any]) -> list[str]:
    """Failed checks that are not the side's failure (tables missing, not idempotent, ...)."""
    return [
        f"check {check['name']} failed: {check['detail']}"
        for check in result.get("checks", [])
        if check.get("status") == "failed" and check.get("name") != "manifest_match"
    ]


def check_side(
    side: Side,
    element: ElementRef,
    server: ServerInfo,
    *,
    timeout: float,
    stub_missing: bool,
    scratch: Path,
    python: str | None = None,
) -> SideResult:
    """Run the child for ``side`` on ``server``; its result, or a :class:`HarnessError`.

    ``python`` is the interpreter of the environment the side is checked in (another
    DataJoint version's, see :mod:`harness.release.interpreters`); this one's by default.
    """
    work = Path(tempfile.mkdtemp(prefix=f"side-{side.role}-", dir=scratch))
    cwd = work / "cwd"
    cwd.mkdir()
    request_path, answer_path = work / "request.json", work / "answer.json"
    request = {
        "element": element.name,
        "package": element.package,
        "spec": str(element.spec.path.resolve()) if element.spec is not None else None,
        "version": side.version,
        "label": side.label,
        "root": str(side.root),
        "foreign": [str(Path.cwd())],
        "server": server.to_json(),
        "timeout": timeout,
        "stub_missing": stub_missing,
        "answer": str(answer_path),
    }
    descriptor = os.open(request_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        json.dump(request, stream)
    own = python is None or python == sys.executable
    command = [python or sys.executable, "-m", "harness.release.child", str(request_path)]
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=child_environment(side, own_interpreter=own),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    with _RUNNING_LOCK:
        _RUNNING.add(process)
    try:
        output, _ = process.communicate(timeout=CHECK_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.terminate()
        try:
            process.communicate(timeout=_TERMINATE_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
        raise HarnessError(f"checking {side.label} took more than {CHECK_TIMEOUT:g} s") from None
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(process)
        request_path.unlink(missing_ok=True)
    if process.returncode != 0 or not answer_path.is_file():
        tail = "\n".join(output.strip().splitlines()[-8:])
        raise HarnessError(f"checking {side.label} broke (exit {process.returncode}):\n{tail}")
    answer = json.loads(answer_path.read_text(encoding="utf-8"))
    if "error" in answer:
        raise HarnessError(f"checking {side.label}: {answer['error']}", hint=answer.get("hint"))
    result = answer["result"]
    return SideResult(
        side=side,
        manifest=answer["manifest"],
        failure=result.get("failure"),
        # A failed side's failed check is its failure, said once; a passed side's are notes.
        notes=[*answer["notes"], *([] if result.get("failure") else _describe_checks(result))],
        imported_from=answer["imported_from"],
        modules=answer["modules"],
        tables=len(result.get("tables", [])),
        datajoint=answer.get("datajoint"),
    )
