"""Cleanup that never hurts another run: sweep, reuse and down, concurrency, interrupts.

All against a real engine (see conftest); nothing is mocked.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    MARIADB,
    MYSQL,
    containers_labelled,
    dead_pid,
    harness_command,
    spawn,
    wait_for,
)
from docker.errors import NotFound

from harness.db.backends import get_backend
from harness.db.provider import provide_server
from harness.db.sweep import sweep_containers
from harness.engine import docker_client
from harness.runinfo import LABEL_PID, LABEL_REUSE, RunIdentity, process_identity
from harness.settings import Settings

pytestmark = pytest.mark.docker


def _exists(container_id: str) -> bool:
    try:
        docker_client().containers.get(container_id)
    except NotFound:
        return False
    return True


# --- sweep --------------------------------------------------------------------------


class _Labelled:
    """Containers created (never started: the sweep looks at labels only) for one test."""

    def __init__(self) -> None:
        self.created: list[Any] = []

    def make(
        self,
        pid: int,
        *,
        reusable: bool = False,
        created: float | None = None,
        owner: str | None = None,
    ) -> Any:
        stamp = time.time() if created is None else created
        run = RunIdentity(secrets.token_hex(4), pid, stamp, socket.gethostname(), owner)
        labels = run.labels()
        if reusable:
            labels[LABEL_REUSE] = "test-" + run.run_id
        container = docker_client().containers.create(
            MARIADB, name=f"element-harness-test-{run.run_id}", labels=labels
        )
        self.created.append(container)
        return container

    def remove_all(self) -> None:
        for container in self.created:
            with suppress(NotFound):
                container.remove(force=True)


@pytest.fixture
def labelled() -> Iterator[_Labelled]:
    made = _Labelled()
    try:
        yield made
    finally:
        made.remove_all()


@pytest.fixture
def live_process() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(["sleep", "120"])
    try:
        yield child
    finally:
        child.kill()
        child.wait()


def test_sweep_removes_dead_runs_only(
    labelled: _Labelled, live_process: subprocess.Popen[bytes]
) -> None:
    dead = labelled.make(dead_pid())
    live = labelled.make(live_process.pid)
    reusable = labelled.make(dead_pid(), reusable=True)

    report = sweep_containers()

    assert dead.name in report.removed
    assert not _exists(dead.id)
    spared = dict(report.spared)
    assert "alive" in spared[live.name]
    assert "reusable" in spared[reusable.name]
    assert _exists(live.id) and _exists(reusable.id)


def test_sweep_trusts_the_owner_identity_over_a_clock_that_was_set(
    labelled: _Labelled, live_process: subprocess.Popen[bytes]
) -> None:
    """Containers of a live run whose wall-clock stamp a clock set forward has made look old."""
    identity = process_identity(live_process.pid)
    assert identity is not None
    an_hour_early = time.time() - 3600
    live = labelled.make(live_process.pid, created=an_hour_early, owner=identity)
    # Recorded by this process, whose pid the sleeper does not have: never the owner.
    recycled = labelled.make(
        live_process.pid, created=time.time() + 3600, owner=process_identity(os.getpid())
    )
    unrecorded = labelled.make(live_process.pid, created=an_hour_early)  # the start-time rule

    report = sweep_containers()

    assert "alive" in dict(report.spared)[live.name] and _exists(live.id)
    assert recycled.name in report.removed and not _exists(recycled.id)
    assert unrecorded.name in report.removed and not _exists(unrecorded.id)


def test_sweep_spares_this_run_and_other_hosts(labelled: _Labelled) -> None:
    current = RunIdentity.new()
    mine = docker_client().containers.create(
        MARIADB, name=f"element-harness-test-{current.run_id}", labels=current.labels()
    )
    labelled.created.append(mine)
    elsewhere_run = RunIdentity(secrets.token_hex(4), dead_pid(), time.time(), "another-host")
    elsewhere = docker_client().containers.create(
        MARIADB, name=f"element-harness-test-{elsewhere_run.run_id}", labels=elsewhere_run.labels()
    )
    labelled.created.append(elsewhere)

    spared = dict(sweep_containers(current).spared)

    assert spared[mine.name] == "belongs to this run"
    assert "another-host" in spared[elsewhere.name]
    assert _exists(mine.id) and _exists(elsewhere.id)


def test_sweep_command_says_what_it_did(
    labelled: _Labelled, live_process: subprocess.Popen[bytes]
) -> None:
    dead = labelled.make(dead_pid())
    live = labelled.make(live_process.pid)
    reusable = labelled.make(dead_pid(), reusable=True)

    dry = subprocess.run(
        harness_command("sweep", "--dry-run"), capture_output=True, text=True, timeout=60
    )
    assert dry.returncode == 0, dry.stderr
    # Another run on this machine may sweep the dead container at any moment (which is
    # correct). If it still exists after the dry run, it existed throughout it, so the
    # dry run must have listed it.
    if _exists(dead.id):
        assert f"would remove {dead.name}" in dry.stdout

    done = subprocess.run(
        harness_command("sweep", "-v"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    # Reported by this sweep, unless a concurrent run's sweep got to it first.
    assert f"removed {dead.name}\n" in done.stdout or not _exists(dead.id)
    assert f"spared {live.name}: owning process {live_process.pid} is alive" in done.stdout
    assert f"spared {reusable.name}: reusable" in done.stdout
    assert "sweep: removed " in done.stdout
    assert not _exists(dead.id)
    assert _exists(live.id) and _exists(reusable.id)


# --- reuse and down -----------------------------------------------------------------


def test_reuse_hands_the_same_container_to_the_next_run_and_down_removes_it() -> None:
    settings = Settings(db="mariadb", image=MARIADB, reuse=True, startup_timeout=60)
    first_id = None
    try:
        with provide_server(settings, RunIdentity.new()) as first:
            first_id = first.container_id
            assert first.kind == "reused"
        assert first_id is not None and _exists(first_id)

        started = time.monotonic()
        with provide_server(settings, RunIdentity.new()) as second:
            elapsed = time.monotonic() - started
            backend = get_backend(second.backend)
            version = backend.probe(
                second.host, second.port, second.admin_user, second.admin_password
            )
        assert second.container_id == first_id
        assert version == first.version
        assert elapsed < 0.5, f"second acquisition took {elapsed:.2f} s"
        container = docker_client().containers.get(first_id)
        assert container.status == "running"
        assert LABEL_REUSE in container.labels

        down = subprocess.run(harness_command("down"), capture_output=True, text=True, timeout=60)
        assert down.returncode == 0, down.stderr
        assert f"removed {container.name}" in down.stdout
        assert not _exists(first_id)
    finally:
        if first_id is not None and _exists(first_id):
            docker_client().containers.get(first_id).remove(force=True)


# --- concurrent runs ----------------------------------------------------------------

_HOLD_SERVER = """
import pathlib, sys, time
from harness.db.backends import get_backend

def test_hold(harness_server):
    here, peer = pathlib.Path("{me}"), pathlib.Path("{peer}")
    here.write_text(harness_server.container_id)
    deadline = time.monotonic() + 90
    while not peer.exists():
        assert time.monotonic() < deadline, "the other run never got its server"
        time.sleep(0.05)
    time.sleep(2)  # both servers exist now; each run's sweep has run
    backend = get_backend(harness_server.backend)
    backend.probe(harness_server.host, harness_server.port, harness_server.admin_user,
                  harness_server.admin_password)
"""


def test_two_pytest_runs_at_once_do_not_interfere(tmp_path: Path) -> None:
    ids = {name: tmp_path / f"{name}.id" for name in ("a", "b")}
    runs = []
    for name, peer in (("a", "b"), ("b", "a")):
        directory = tmp_path / name
        directory.mkdir()
        test_file = directory / f"test_hold_{name}.py"
        test_file.write_text(_HOLD_SERVER.format(me=ids[name], peer=ids[peer]))
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        command += ["--harness-db", "mariadb", "--harness-image", MARIADB, str(test_file)]
        runs.append(spawn(command, cwd=directory))
    outputs = [run.communicate(timeout=180) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, out + err
    first, second = (ids[name].read_text() for name in ("a", "b"))
    assert first != second
    assert not _exists(first) and not _exists(second)


# --- interrupted runs ---------------------------------------------------------------

_SLEEP_WITH_SERVER = """
import pathlib, time

def test_sleep(harness_server):
    # Written aside and renamed: the watcher never reads a half-written file.
    pathlib.Path("ready.part").write_text(harness_server.container_id)
    pathlib.Path("ready.part").replace("ready")
    time.sleep(120)
"""


def _ready(run: subprocess.Popen[str], marker: Path) -> bool:
    """Whether the run has its server; fails at once when the run ended instead."""
    if run.poll() is not None:
        out, err = run.communicate()
        raise AssertionError(f"the run ended early with status {run.returncode}:\n{out}{err}")
    return marker.exists()


def _owned_by(pid: int) -> list[Any]:
    return containers_labelled(f"{LABEL_PID}={pid}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_smoke_leaves_nothing(signum: int) -> None:
    # MySQL takes seconds to accept SQL: the signal lands while the harness waits.
    run = spawn(harness_command("smoke", "mysql", "--image", MYSQL, "--startup-timeout", "60"))
    try:
        wait_for(lambda: _owned_by(run.pid), 30, "the smoke run's container")
        run.send_signal(signum)
        out, err = run.communicate(timeout=30)
    finally:
        run.kill()
    assert run.returncode == 130, out + err
    assert "interrupted" in err and "Traceback" not in err
    assert "ok " not in out, "the run finished before the signal: the test checked nothing"
    assert _owned_by(run.pid) == []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_pytest_run_leaves_nothing(tmp_path: Path, signum: int) -> None:
    (tmp_path / "test_sleep.py").write_text(_SLEEP_WITH_SERVER)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["--harness-db", "mariadb", "--harness-image", MARIADB]
    run = spawn(command, cwd=tmp_path, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        wait_for(lambda: _ready(run, tmp_path / "ready"), 60, "the run's server")
        container_id = (tmp_path / "ready").read_text()
        assert _exists(container_id)
        run.send_signal(signum)
        out, err = run.communicate(timeout=30)
    finally:
        run.kill()
    assert run.returncode == pytest.ExitCode.INTERRUPTED, out + err
    assert not _exists(container_id)
    assert _owned_by(run.pid) == []
