"""Shared helpers of the harness's own tests.

Container tests use the locally built images (no registry on the project's
machines) and never skip: without an engine, ``docker_client()`` raises and the
test fails, because a check that did not run did not pass.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from typing import Any

import pytest

pytest_plugins = ["pytester"]

MYSQL = "element-harness/mysql:9.7"
MARIADB = "element-harness/mariadb:10.11"
MARIADB_NEW = "element-harness/mariadb:11.8"
POSTGRES = "element-harness/postgres:15"
#: (backend, image) of every local image; MariaDB 10.11 is the fastest, used for generic tests.
LOCAL_IMAGES = (
    ("mysql", MYSQL),
    ("mariadb", MARIADB),
    ("mariadb", MARIADB_NEW),
    ("postgresql", POSTGRES),
)

#: Variables that would change which server a test gets; tests start without them.
_SELECTING_PREFIXES = ("HARNESS_", "DJ_")


@pytest.fixture(scope="session", autouse=True)
def _no_selecting_environment() -> Iterator[None]:
    """A developer's HARNESS_*/DJ_* variables must not decide what a test checks.

    Session-scoped so that module-scoped servers start without them too.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(_SELECTING_PREFIXES):
                patch.delenv(name)
        yield


def harness_command(*args: str) -> list[str]:
    """The ``harness`` CLI of this interpreter (its pid is the run's owner pid)."""
    return [sys.executable, "-m", "harness.cli", *args]


def spawn(command: list[str], **kwargs: Any) -> subprocess.Popen[str]:
    """Popen with SIGINT at its default, so Python in the child turns it into Ctrl-C.

    A background job of a non-interactive shell inherits SIGINT ignored; the
    interrupt tests would then test nothing.
    """

    def reset_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=reset_sigint,
        **kwargs,
    )


def dead_pid() -> int:
    """The pid of a child process that has already exited."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def containers_labelled(label: str) -> list[Any]:
    """Every container (running or not) carrying ``label`` (``key`` or ``key=value``).

    Not ``containers.list``: it inspects each listed container and fails on one
    that a run removes in between, which the interrupt tests make likely.
    """
    from docker.errors import NotFound

    from harness.engine import docker_client

    client = docker_client()
    found = []
    for entry in client.api.containers(all=True, filters={"label": label}):
        with suppress(NotFound):
            found.append(client.containers.get(entry["Id"]))
    return found


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` every 20 ms until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def applies_released_together(
    command: list[str],
    env: dict[str, str],
    tmp_path: Any,
    lock: tuple[Any, Any],
    while_waiting: Callable[[], None],
) -> list[str]:
    """Two ``command`` processes started while the deploy lock is held, released at once.

    ``lock`` is ``(backend, admin connection)``: the lock is taken on that connection
    first, so both processes are surely waiting for it when it is released (their
    output says ``waiting up to``); ``while_waiting`` asserts that nothing was changed
    meanwhile. Both must exit 0; their outputs are returned, in start order.
    """
    from harness.deploy.lock import LOCK_NAME

    backend, holder = lock
    processes: list[subprocess.Popen[str]] = []
    outputs = [tmp_path / f"apply-{i}.out" for i in range(2)]
    try:
        assert backend.try_lock(holder, LOCK_NAME, 0)
        for path in outputs:
            with path.open("w") as out:
                processes.append(
                    subprocess.Popen(
                        command, stdout=out, stderr=subprocess.STDOUT, env=env, text=True
                    )
                )
        wait_for(
            lambda: (
                all("waiting up to" in p.read_text() for p in outputs)
                or any(proc.poll() is not None for proc in processes)
            ),
            180,
            "both applies waiting for the lock",
        )
        assert all(proc.poll() is None for proc in processes), [p.read_text() for p in outputs]
        while_waiting()
        backend.release_lock(holder, LOCK_NAME)
        codes = [proc.wait(timeout=600) for proc in processes]
    finally:
        for proc in processes:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    texts = [path.read_text() for path in outputs]
    assert codes == [0, 0], texts
    return texts


@pytest.fixture(scope="module")
def mariadb_server() -> Iterator[Any]:
    """One MariaDB 10.11 server shared by the tests of a module."""
    from harness.db.provider import provide_server
    from harness.settings import Settings

    with provide_server(Settings(db="mariadb", image=MARIADB, startup_timeout=60)) as server:
        yield server


def orphaned_since(before: set[str]) -> list[str]:
    """Harness containers created since ``before`` whose owner is gone (our leftovers).

    Other runs may share the engine; their live containers are not ours to judge.
    """
    from harness.runinfo import pid_alive

    return [
        container.name
        for container in containers_labelled("element-harness.run-id")
        if container.id not in before
        and not pid_alive(int(container.labels.get("element-harness.pid", "0")))
    ]


def harness_containers() -> set[str]:
    return {container.id for container in containers_labelled("element-harness.run-id")}


@pytest.fixture(scope="session")
def installed_harness(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The harness wheel installed into a fresh environment outside the checkout."""
    from tests.installed import create_installed_harness

    return create_installed_harness(tmp_path_factory.mktemp("installed-harness"))


def check_in_process(target: str, server: Any, *, run: Any, **options: Any) -> Any:
    """One check of ``target`` in this process, in a fresh namespace of ``run``.

    ``options`` are :class:`~harness.activation.runner.CheckOptions` fields. Modules bind
    their run once: ``check = functools.partial(check_in_process, run=RUN)``.
    """
    from harness.activation.namespace import new_prefix
    from harness.activation.runner import CheckOptions, ElementCheck
    from harness.elements.targets import resolve_target

    return ElementCheck(
        resolve_target(target), server, new_prefix(run.run_id), CheckOptions(**options)
    ).run()


def started_server(backend: str, image: str, run: Any) -> Any:
    """A server of ``backend`` from ``image`` for ``run`` (a context manager)."""
    from harness.db.provider import provide_server
    from harness.settings import Settings

    return provide_server(Settings(db=backend, image=image, startup_timeout=90), run)
