"""One server per run, shared by every process of the run.

With pytest-xdist each worker is a separate process; starting a server per
worker would multiply start-up cost and memory. The first process that needs
the server takes a file lock in a directory shared by the run, starts it and
writes its description (0600, it holds the admin password); the others read
it. A failed start is recorded too, so the other workers report the same error
instead of each waiting out the same timeout.

Only the *owner* process (the xdist controller, or the single pytest process)
removes the run's containers at the end, by the run's label, because a worker
that finishes early must not stop a server others still use.
"""

from __future__ import annotations

import json
import os
import shutil
from contextlib import ExitStack, suppress
from pathlib import Path

from filelock import FileLock, Timeout

from harness.db.provider import provide_server
from harness.db.server import ServerInfo
from harness.db.sweep import remove_run_containers
from harness.errors import HarnessError, ServerStartError
from harness.runinfo import RunIdentity
from harness.settings import Settings

_INFO_FILE = "server.json"
_ERROR_FILE = "server-error.json"


class SharedServer:
    """Lazily provides the run's server; see the module docstring."""

    def __init__(
        self, settings: Settings, run: RunIdentity, share_dir: Path, *, owner: bool
    ) -> None:
        self.settings = settings
        self.run = run
        self.share_dir = share_dir
        self.owner = owner
        self._info: ServerInfo | None = None
        self._stack = ExitStack()

    def get(self) -> ServerInfo:
        """The run's server, started on first use by whichever process asks first."""
        if self._info is not None:
            return self._info
        self.share_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.share_dir / "server.lock"))
        wait = self.settings.startup_timeout + 60
        try:
            lock.acquire(timeout=wait)
        except Timeout:
            raise ServerStartError(
                f"waited {wait:g} s for another process of this run to start the shared server"
            ) from None
        try:
            self._info = self._read_or_start()
        finally:
            lock.release()
        return self._info

    def _read_or_start(self) -> ServerInfo:
        info_path = self.share_dir / _INFO_FILE
        error_path = self.share_dir / _ERROR_FILE
        if info_path.exists():
            return ServerInfo.from_json(info_path.read_text(encoding="utf-8"))
        if error_path.exists():
            recorded = json.loads(error_path.read_text(encoding="utf-8"))
            raise HarnessError(recorded["message"], hint=recorded.get("hint"))
        try:
            # Keep the container after this process's session: the owner removes it.
            context = provide_server(self.settings, self.run)
            info = context.__enter__() if not self.owner else self._stack.enter_context(context)
            # Hold the context: collected, its generator would close and stop the server now.
            self._entered = context
        except HarnessError as exc:
            self._write_private(error_path, json.dumps({"message": exc.message, "hint": exc.hint}))
            raise
        self._write_private(info_path, info.to_json())
        return info

    @staticmethod
    def _write_private(path: Path, text: str) -> None:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)

    def close(self) -> None:
        """Owner: remove the run's containers and the shared directory. Others: nothing."""
        if not self.owner:
            return
        try:
            self._stack.close()
        finally:
            started = any((self.share_dir / name).exists() for name in (_INFO_FILE, _ERROR_FILE))
            if started:
                with suppress(HarnessError):  # no engine: nothing of ours runs on it
                    remove_run_containers(self.run)
            shutil.rmtree(self.share_dir, ignore_errors=True)
