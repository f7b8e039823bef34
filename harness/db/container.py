"""Database servers in containers started by this run, through testcontainers.

The container is a testcontainers :class:`DockerContainer` configured the way
a throw-away test server should be: data directory on tmpfs, port published on
127.0.0.1 only, a random admin password, labels naming the owning run. What
testcontainers does not do well for us is replaced: readiness is a real SQL
query (see :mod:`harness.db.readiness`), and an exit or a timeout becomes an
error naming the image with the container's last log lines.
"""

from __future__ import annotations

import secrets
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from testcontainers.core.container import DockerContainer

from harness.db.backends.base import Backend
from harness.db.direct_route import direct_address
from harness.db.readiness import NotReady, wait_for_sql
from harness.db.server import ImageRef, ServerInfo
from harness.engine import configure_testcontainers_reaper, docker_client
from harness.errors import ImageUnavailable, ServerStartError
from harness.redact import new_password, redact_text, register_secret
from harness.runinfo import LABEL_BACKEND, RunIdentity

#: Host the published ports are bound to, and connected through.
LOOPBACK = "127.0.0.1"
#: How many lines of a failed container's log an error shows.
LOG_TAIL = 25


def resolve_image(name: str) -> ImageRef:
    """The local image ``name``, pulled first if absent; else :class:`ImageUnavailable`."""
    from docker.errors import APIError, ImageNotFound

    client = docker_client()
    try:
        image = client.images.get(name)
    except ImageNotFound:
        try:
            image = client.images.pull(name)
        except (APIError, ImageNotFound) as exc:
            reason = str(getattr(exc, "explanation", None) or exc).splitlines()[0][:200]
            raise ImageUnavailable(
                f"image {name!r} is not present locally and could not be pulled ({reason})",
                hint="build the local equivalent with `harness images ensure`, or choose "
                "another image with --image / HARNESS_IMAGE",
            ) from None
    return ImageRef(name=name, id=image.id)


class ServerContainer(DockerContainer):
    """A database server container shaped for throw-away tests."""

    def __init__(
        self,
        backend: Backend,
        image: ImageRef,
        admin_password: str,
        labels: dict[str, str],
        name: str,
        command: list[str] | None = None,
    ) -> None:
        # testcontainers makes a client per container; naming the API version the
        # engine already negotiated saves that client a round trip (~6 ms).
        super().__init__(image.name, docker_client_kw={"version": docker_client().api.api_version})
        self.backend = backend
        self.with_envs(**backend.container_env(admin_password))
        self.with_tmpfs_mount(backend.data_dir)
        self.with_name(name)
        self.with_kwargs(labels=labels)
        if command is not None:
            self.with_command(command)

    def _configure(self) -> None:
        # testcontainers' with_bind_ports publishes on every interface; a database
        # with a known admin account must be reachable from this host only.
        self.ports = {f"{self.backend.port}/tcp": (LOOPBACK, None)}  # type: ignore[dict-item]


def published_port(container: Any, port: int) -> int:
    """The host port docker chose for ``port``, bound on loopback."""
    container.reload()
    bindings = (container.attrs.get("NetworkSettings", {}).get("Ports") or {}).get(f"{port}/tcp")
    if not bindings:
        raise ServerStartError(f"container {container.short_id} publishes no port for {port}")
    return int(bindings[0]["HostPort"])


def container_logs_tail(container: Any, lines: int = LOG_TAIL) -> str:
    """The container's last log lines, secrets masked, or a note why there are none."""
    try:
        raw = container.logs(tail=lines).decode("utf-8", errors="replace")
    except Exception as exc:  # the container may already be gone
        return f"(logs unavailable: {type(exc).__name__})"
    return redact_text(raw.rstrip()) or "(the container printed nothing)"


def start_failure(container: Any, image: ImageRef, what: str) -> ServerStartError:
    """An error naming the image and quoting the container's last log lines."""
    logs = container_logs_tail(container)
    indented = "\n".join("    " + line for line in logs.splitlines())
    return ServerStartError(
        f"database container from image {image.name} {what}.\n"
        f"  last {LOG_TAIL} log lines:\n{indented}",
        hint="check that the image is a database server image honouring the official "
        "environment variables; raise --startup-timeout if the machine is slow",
    )


def remove_container(container: Any) -> None:
    """Remove a container and its anonymous volumes, ignoring one already gone."""
    from docker.errors import APIError, NotFound

    try:
        container.remove(force=True, v=True)
    except NotFound:
        pass
    except APIError as exc:
        if "already in progress" not in str(exc):
            raise


def exit_failure(container: Any, image: ImageRef) -> ServerStartError | None:
    """The start error for a container that has stopped, or None while it runs."""
    container.reload()
    if container.status not in {"exited", "dead"}:
        return None
    code = container.attrs.get("State", {}).get("ExitCode")
    what = f"exited with status {code} before accepting connections"
    return start_failure(container, image, what)


def wait_until_ready(
    backend: Backend,
    container: Any,
    image: ImageRef,
    port: int,
    admin_password: str,
    timeout: float,
) -> str:
    """Wait for SQL on a started container; fail early if it exits."""

    def check_alive() -> None:
        failure = exit_failure(container, image)
        if failure is not None:
            raise failure

    try:
        return wait_for_sql(
            backend,
            LOOPBACK,
            port,
            backend.admin_user,
            admin_password,
            timeout=timeout,
            check_alive=check_alive,
        )
    except NotReady as exc:
        last = f"; last attempt: {exc.last_error}" if exc.last_error else ""
        raise start_failure(
            container, image, f"did not accept SQL within {timeout:g} s{redact_text(last)}"
        ) from None


def _remove_named(name: str) -> None:
    """Remove the container called ``name`` if the engine has one."""
    from docker.errors import NotFound

    with suppress(NotFound):
        remove_container(docker_client().containers.get(name))


@dataclass
class ContainerServer:
    """A server container owned by this run: :meth:`stop` removes it."""

    info: ServerInfo
    container: Any

    def stop(self) -> None:
        remove_container(self.container)


def start_container_server(
    backend: Backend,
    image: ImageRef,
    run: RunIdentity,
    *,
    timeout: float,
    name: str | None = None,
    extra_labels: dict[str, str] | None = None,
    admin_password: str | None = None,
    kind: str = "container",
    command: list[str] | None = None,
) -> ContainerServer:
    """Start a container from ``image`` and return it once it answers SQL.

    On any failure, KeyboardInterrupt included, the container is removed before
    the error propagates: a failed start leaves nothing behind. ``command``
    replaces the image's CMD (tests use it to make a server that never answers).
    """
    configure_testcontainers_reaper()
    password = admin_password or new_password()
    register_secret(password)
    labels = {**run.labels(), LABEL_BACKEND: backend.name, **(extra_labels or {})}
    name = name or f"element-harness-{backend.name}-{run.run_id}-{secrets.token_hex(3)}"
    wrapper = ServerContainer(backend, image, password, labels, name, command)
    try:
        wrapper.start()
    except BaseException as exc:
        started = wrapper._container
        if started is not None:
            remove_container(started)
        elif not isinstance(exc, Exception):
            # Interrupted inside create: the engine may have made it all the same.
            _remove_named(name)
        if not isinstance(exc, Exception):
            raise
        raise ServerStartError(
            f"could not start a container from image {image.name}: "
            f"{redact_text(str(exc)).splitlines()[0][:300]}"
        ) from None
    container = wrapper.get_wrapped_container()
    try:
        try:
            port = published_port(container, backend.port)
        except ServerStartError as exc:
            # A container that exited at once publishes no port: say why it exited.
            raise (exit_failure(container, image) or exc) from None
        version = wait_until_ready(backend, container, image, port, password, timeout)
        direct = direct_address(container, backend.port)
    except BaseException:
        remove_container(container)
        raise
    info = ServerInfo(
        backend=backend.name,
        host=LOOPBACK,
        port=port,
        admin_user=backend.admin_user,
        admin_password=password,
        version=version,
        kind=kind,
        image=image,
        container_id=container.id,
        direct_host=direct,
        direct_port=backend.port if direct else None,
    )
    return ContainerServer(info=info, container=container)
