"""Remove what dead runs left behind, and only that.

A container labelled by the harness is removed when its owning process is
gone (see :func:`harness.runinfo.owner_alive`). Containers of live runs,
reusable containers and containers created from another host (whose processes
this host cannot see) are spared. Cleanup is by our own labels, so it needs no
reaper image and never touches anything the harness did not create.
"""

from __future__ import annotations

import socket
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from harness.db.container import remove_container
from harness.engine import docker_client
from harness.runinfo import (
    LABEL_CREATED,
    LABEL_HOST,
    LABEL_OWNER,
    LABEL_PID,
    LABEL_REUSE,
    LABEL_RUN_ID,
    RunIdentity,
    owner_alive,
)


@dataclass
class SweepReport:
    """What a sweep removed and what it left, with the reason for each spared one."""

    removed: list[str] = field(default_factory=list)
    spared: list[tuple[str, str]] = field(default_factory=list)


def labelled_containers(label: str) -> list[Any]:
    """Containers (running or not) with ``label``, skipping any removed meanwhile.

    ``containers.list`` inspects each container it lists; one that another run
    removes in between would raise NotFound and fail this run instead.
    """
    from docker.errors import NotFound

    client = docker_client()
    found = []
    for entry in client.api.containers(all=True, filters={"label": label}):
        with suppress(NotFound):
            found.append(client.containers.get(entry["Id"]))
    return found


def _owned_containers() -> list[Any]:
    return labelled_containers(LABEL_RUN_ID)


def why_spared(labels: dict[str, str], current: RunIdentity | None, host: str) -> str | None:
    """The reason a labelled container must stay, or None when it may be removed."""
    if LABEL_REUSE in labels:
        return "reusable (remove with `harness down`)"
    if current is not None and labels.get(LABEL_RUN_ID) == current.run_id:
        return "belongs to this run"
    if labels.get(LABEL_HOST, host) != host:
        return f"created on host {labels.get(LABEL_HOST)!r}, whose processes are not visible here"
    try:
        pid = int(labels.get(LABEL_PID, "0"))
        created = float(labels.get(LABEL_CREATED, "0"))
    except ValueError:
        return None
    if owner_alive(pid, created, labels.get(LABEL_OWNER)):
        return f"owning process {pid} is alive"
    return None


def sweep_containers(current: RunIdentity | None = None, *, dry_run: bool = False) -> SweepReport:
    """Remove containers of runs whose owning process is gone."""
    report = SweepReport()
    host = socket.gethostname()
    for container in _owned_containers():
        reason = why_spared(container.labels, current, host)
        if reason is not None:
            report.spared.append((container.name, reason))
            continue
        if not dry_run:
            remove_container(container)
        report.removed.append(container.name)
    return report


def remove_run_containers(run: RunIdentity) -> list[str]:
    """Remove every non-reusable container of ``run`` (end of run, also after failures)."""
    removed = []
    for container in labelled_containers(f"{LABEL_RUN_ID}={run.run_id}"):
        if LABEL_REUSE in container.labels:
            continue
        remove_container(container)
        removed.append(container.name)
    return removed


def remove_reusable_containers() -> list[str]:
    """Remove every reusable container (``harness down``)."""
    removed = []
    for container in labelled_containers(LABEL_REUSE):
        remove_container(container)
        removed.append(container.name)
    return removed
