"""Who owns a resource: the identity of one harness run.

Every container (and every namespace in a server's registry) a run creates
carries its run id, the pid of the process that owns the run, when the run began
and the owner's identity as the kernel knows it: this boot's id and the moment
the process started, in clock ticks since boot. A later run's sweep uses these to
tell a dead run's leftovers from a live run's resources: the owner is alive only
if a process with that pid exists *and* is the same process (so a recycled pid
is not mistaken for the owner).

The kernel's identity is compared, not wall-clock times: a clock that is set
while runs live (a virtual machine resumed, NTP stepping the time) moves every
start time computed from the wall clock, and a live owner would look like a
recycled pid whose resources may be removed. Resources recorded without it
(older harness versions, systems without ``/proc``) fall back on the start time.
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
LABEL_OWNER = f"{LABEL_PREFIX}.owner"
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
    #: The owning process as the kernel knows it (:func:`process_identity`); None: unknown.
    owner: str | None = None

    @classmethod
    def new(cls) -> RunIdentity:
        """A fresh identity owned by the current process."""
        pid = os.getpid()
        return cls(
            run_id=secrets.token_hex(4),
            pid=pid,
            created=time.time(),
            host=socket.gethostname(),
            owner=process_identity(pid),
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
            owner=data.get("owner"),
        )

    def labels(self) -> dict[str, str]:
        """Docker labels that mark a container as owned by this run."""
        labels = {
            LABEL_RUN_ID: self.run_id,
            LABEL_PID: str(self.pid),
            LABEL_CREATED: f"{self.created:.3f}",
            LABEL_HOST: self.host,
        }
        if self.owner is not None:
            labels[LABEL_OWNER] = self.owner
        return labels


def _boot_time() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            for line in stat:
                if line.startswith("btime "):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def _boot_id() -> str | None:
    """This boot's random id (Linux): pids and start ticks mean nothing across boots."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as boot:
            return boot.read().strip() or None
    except OSError:
        return None


def _start_ticks(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (Linux /proc); None if unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            raw = stat.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    after_name = raw.rsplit(")", 1)[1].split()
    try:
        return int(after_name[19])  # field 22 of the whole line
    except (IndexError, ValueError):
        return None


def process_identity(pid: int) -> str | None:
    """``<boot id>:<start ticks>`` of ``pid``: one process, whatever the wall clock does."""
    boot, ticks = _boot_id(), _start_ticks(pid)
    if boot is None or ticks is None:
        return None
    return f"{boot}:{ticks}"


def process_start_time(pid: int) -> float | None:
    """Epoch seconds at which ``pid`` started, where the OS tells (Linux /proc).

    Computed from the wall clock's idea of the boot time: it moves when the clock is
    set. Shown to people and kept for resources recorded without an identity.
    """
    boot, ticks = _boot_time(), _start_ticks(pid)
    if boot is None or ticks is None:
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


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


def owner_alive(pid: int, created: float, owner: str | None = None) -> bool:
    """Whether the process that created a resource at ``created`` still runs.

    With the owner's identity (:func:`process_identity`), only that very process
    counts. Without it, a live process whose start time is later than ``created``
    reuses the pid of a dead owner, so the owner counts as gone.
    """
    if not pid_alive(pid) or _is_zombie(pid):
        return False
    if owner:
        current = process_identity(pid)
        if current is not None:
            return current == owner
    started = process_start_time(pid)
    return started is None or started <= created + _START_SLACK
