"""Who owns a resource: the identity of one harness run.

Every container (and later every schema and database user) a run creates
carries its run id, the pid of the process that owns the run and when the run
began. A later run's sweep uses these to tell a dead run's leftovers from a
live run's resources: the owner is alive only if a process with that pid exists
*and* started no later than the run (so a recycled pid is not mistaken for the
owner).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import time
from dataclasses import asdict, dataclass

LABEL_PREFIX = "element-harness"
LABEL_RUN_ID = f"{LABEL_PREFIX}.run-id"
LABEL_PID = f"{LABEL_PREFIX}.pid"
LABEL_CREATED = f"{LABEL_PREFIX}.created"
LABEL_HOST = f"{LABEL_PREFIX}.host"
LABEL_REUSE = f"{LABEL_PREFIX}.reuse"
LABEL_BACKEND = f"{LABEL_PREFIX}.backend"

#: Start-time comparisons allow this much clock slack (seconds).
_START_SLACK = 2.0


@dataclass(frozen=True)
class RunIdentity:
    """The owner of resources created by one run of the harness."""

    run_id: str
    pid: int
    created: float
    host: str

    @classmethod
    def new(cls) -> RunIdentity:
        """A fresh identity owned by the current process."""
        return cls(
            run_id=secrets.token_hex(4),
            pid=os.getpid(),
            created=time.time(),
            host=socket.gethostname(),
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> RunIdentity:
        data = json.loads(text)
        return cls(
            run_id=str(data["run_id"]),
            pid=int(data["pid"]),
            created=float(data["created"]),
            host=str(data["host"]),
        )

    def labels(self) -> dict[str, str]:
        """Docker labels that mark a container as owned by this run."""
        return {
            LABEL_RUN_ID: self.run_id,
            LABEL_PID: str(self.pid),
            LABEL_CREATED: f"{self.created:.3f}",
            LABEL_HOST: self.host,
        }


def _boot_time() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            for line in stat:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def process_start_time(pid: int) -> float | None:
    """Epoch seconds at which ``pid`` started, where the OS tells (Linux /proc)."""
    boot = _boot_time()
    if boot is None:
        return None
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            raw = stat.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    after_name = raw.rsplit(")", 1)[1].split()
    start_ticks = int(after_name[19])  # field 22 of the whole line
    return boot + start_ticks / os.sysconf("SC_CLK_TCK")


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (on this host)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_zombie(pid: int) -> bool:
    """A process that has ended but is not yet reaped (Linux /proc state ``Z``).

    A check's process killed with its harness is reparented to init, which may
    take its time to reap it; until then its pid exists, but its owner is gone.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def owner_alive(pid: int, created: float) -> bool:
    """Whether the process that created a resource at ``created`` still runs.

    A live process whose start time is later than ``created`` reuses the pid of a
    dead owner, so the owner counts as gone.
    """
    if not pid_alive(pid) or _is_zombie(pid):
        return False
    started = process_start_time(pid)
    return started is None or started <= created + _START_SLACK
