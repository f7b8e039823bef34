"""Access to the container engine (Docker, or Podman's Docker-compatible socket).

One place decides how the engine is reached and what to say when it is not:
a user without a running engine gets one sentence naming DOCKER_HOST and the
alternatives, never a docker SDK traceback.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING

from harness.errors import EngineUnavailable

if TYPE_CHECKING:
    import docker

#: Seconds to wait for the engine's API before declaring it unreachable.
ENGINE_TIMEOUT = 10.0


def _engine_hint() -> str:
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock (DOCKER_HOST is unset)"
    return (
        f"no container engine answers at {where}: start Docker (as root on Debian/Ubuntu, "
        "`scripts/ensure-docker` installs and starts it), point DOCKER_HOST at a running "
        "engine (Podman: unix://$XDG_RUNTIME_DIR/podman/podman.sock), or use an existing "
        "server with --external URL / HARNESS_EXTERNAL"
    )


@functools.lru_cache(maxsize=1)
def docker_client() -> docker.DockerClient:
    """A connected docker SDK client, or :class:`EngineUnavailable`.

    Cached for the process: creating a client and pinging costs a round trip
    that every container operation would otherwise repeat.
    """
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=int(ENGINE_TIMEOUT))
        client.ping()
    except (DockerException, OSError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise EngineUnavailable(_engine_hint(), hint=f"the engine client said: {reason}") from None
    return client


def configure_testcontainers_reaper() -> bool:
    """Disable testcontainers' Ryuk reaper when its image is not available.

    Ryuk must be pulled from a registry; without one, testcontainers would fail
    to start any container. Our own label-based sweep covers cleanup instead.
    Returns whether Ryuk ended up disabled.
    """
    from testcontainers.core.config import testcontainers_config

    if testcontainers_config.ryuk_disabled:
        return True
    from docker.errors import DockerException, ImageNotFound

    try:
        docker_client().images.get(testcontainers_config.ryuk_image)
        return False
    except (ImageNotFound, DockerException):
        testcontainers_config.ryuk_disabled = True
        os.environ["TESTCONTAINERS_RYUK_DISABLED"] = "true"
        return True
