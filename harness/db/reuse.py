"""Long-lived server containers shared by successive runs (opt-in).

Starting a server costs about a second or more; a developer re-running pytest
all afternoon should pay it once. A reusable container is named after a key of
everything that determines how it was started (backend, image id, the harness's
start contract), so the name itself makes find-or-create atomic on the engine:
two runs racing to create it cannot both succeed. A file lock additionally
serialises runs on one machine so the loser waits instead of failing.
Isolation between runs sharing it is the namespaces' job, not the container's.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from harness.db.backends.base import Backend
from harness.db.container import (
    LOOPBACK,
    ContainerServer,
    published_port,
    remove_container,
    start_container_server,
    wait_until_ready,
)
from harness.db.direct_route import direct_address
from harness.db.server import ImageRef, ServerInfo
from harness.engine import docker_client
from harness.errors import ServerStartError
from harness.redact import register_secret
from harness.runinfo import LABEL_REUSE, RunIdentity

#: Bump when the way servers are started changes, so old reusable containers are not used.
START_CONTRACT = "1"


def cache_dir() -> Path:
    """Per-user directory for lock files (XDG cache convention)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "element-harness"
    path.mkdir(parents=True, exist_ok=True)
    return path


def reuse_key(backend: Backend, image: ImageRef) -> str:
    """Key of a reusable container: same key, interchangeable server."""
    material = f"{START_CONTRACT}|{backend.name}|{image.id}".encode()
    return hashlib.sha256(material).hexdigest()[:12]


def reuse_container_name(backend: Backend, key: str) -> str:
    return f"element-harness-reuse-{backend.name}-{key}"


def _password_from_env(container: Any, backend: Backend) -> str | None:
    wanted = set(backend.container_env("x"))
    for entry in container.attrs.get("Config", {}).get("Env") or []:
        key, _, value = entry.partition("=")
        if key in wanted and value:
            return value
    return None


def _adopt(container: Any, backend: Backend, image: ImageRef, timeout: float) -> ServerInfo:
    """Bring an existing reusable container to readiness and describe it."""
    if container.status != "running":
        container.start()
    password = _password_from_env(container, backend)
    if password is None:
        raise ServerStartError(f"reusable container {container.name} holds no admin password")
    register_secret(password)
    port = published_port(container, backend.port)
    version = wait_until_ready(backend, container, image, port, password, timeout)
    direct = direct_address(container, backend.port)
    return ServerInfo(
        backend=backend.name,
        host=LOOPBACK,
        port=port,
        admin_user=backend.admin_user,
        admin_password=password,
        version=version,
        kind="reused",
        image=image,
        container_id=container.id,
        direct_host=direct,
        direct_port=backend.port if direct else None,
    )


def acquire_reusable_server(
    backend: Backend, image: ImageRef, run: RunIdentity, *, timeout: float
) -> ServerInfo:
    """Find the reusable container for (backend, image) or create it; wait until ready."""
    from docker.errors import NotFound

    key = reuse_key(backend, image)
    name = reuse_container_name(backend, key)
    lock = FileLock(str(cache_dir() / f"reuse-{key}.lock"))
    try:
        lock.acquire(timeout=timeout + 30)
    except Timeout:
        raise ServerStartError(
            f"another run held the lock on reusable container {name} "
            f"for more than {timeout + 30:g} s"
        ) from None
    try:
        try:
            existing = docker_client().containers.get(name)
        except NotFound:
            existing = None
        if existing is not None:
            try:
                return _adopt(existing, backend, image, timeout)
            except ServerStartError:
                remove_container(existing)  # broken: replace it below
        server: ContainerServer = start_container_server(
            backend,
            image,
            run,
            timeout=timeout,
            name=name,
            extra_labels={LABEL_REUSE: key},
            kind="reused",
        )
        return server.info
    finally:
        lock.release()


def sweep_reused_namespaces() -> list[str]:
    """Drop dead runs' namespaces inside every running reusable container (``harness sweep``)."""
    from harness.db import registry
    from harness.db.backends import get_backend
    from harness.runinfo import LABEL_BACKEND

    dropped: list[str] = []
    for container in docker_client().containers.list(filters={"label": LABEL_REUSE}):
        backend = get_backend(container.labels.get(LABEL_BACKEND, "mysql"))
        password = _password_from_env(container, backend)
        if password is None:
            continue
        register_secret(password)
        port = published_port(container, backend.port)
        admin = backend.connect(LOOPBACK, port, backend.admin_user, password)
        try:
            registry.forget_swept((LOOPBACK, port))
            dropped += registry.sweep_dead_namespaces(backend, admin, (LOOPBACK, port))
        finally:
            admin.close()
    return dropped
