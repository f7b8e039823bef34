"""Faults under a running ``harness check``: killed servers, no engine, signals, races, hangs.

Real processes and real containers, no mocks, no skips; every wait has a bound, so
a harness that hangs fails the test instead of stalling the suite. The slow
Element is the ``broken-slow`` sample: it declares its table, writes its schema
name to ``BROKEN_SLOW_MARKER`` and waits ``BROKEN_SLOW_SECONDS`` before it uses
the server again, which gives each test a moment in the middle of an activation
to kill, interrupt or race against.

Reused-server scenarios run on a private image (a one-line ``FROM`` of the local
MariaDB image with an extra label): its reuse key differs from every other
test's, so this module's reusable container is never the one another test or
engineer is using, and removing it afterwards touches nobody else.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    MARIADB,
    check_in_process,
    containers_labelled,
    harness_command,
    spawn,
    started_server,
    wait_for,
)
from docker.errors import NotFound

from harness.activation import runner
from harness.db.backends import get_backend
from harness.db.container import published_port, remove_container
from harness.db.server import ServerInfo
from harness.engine import docker_client
from harness.runinfo import LABEL_PID, LABEL_REUSE, RunIdentity

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "elements" / "samples"
#: Private image for --reuse scenarios (see the module docstring).
FAULTS_IMAGE = "element-harness/mariadb-faults:test"
#: Bound on any one harness process of this module once its fault has been injected.
AFTER_FAULT = 30.0
#: The identity of this module's in-process checks.
RUN = RunIdentity.new()


# --- helpers --------------------------------------------------------------------------------


@dataclass
class SlowRun:
    """A ``harness check`` subprocess whose broken-slow activation is (or will be) under way."""

    process: subprocess.Popen[str]
    marker: Path

    def wait_until_activating(self, timeout: float = 60) -> str:
        """The schema broken-slow declared, once its activate() has started waiting."""

        def ready() -> bool:
            if self.process.poll() is not None:
                out, err = self.process.communicate()
                raise AssertionError(f"the run ended early ({self.process.returncode}):{out}{err}")
            return self.marker.exists() and bool(self.marker.read_text(encoding="utf-8"))

        wait_for(ready, timeout, "broken-slow to start activating")
        return self.marker.read_text(encoding="utf-8")

    def finish(self, timeout: float = AFTER_FAULT) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err

    def kill(self) -> None:
        with suppress(ProcessLookupError):
            self.process.kill()
        with suppress(subprocess.TimeoutExpired):
            self.process.communicate(timeout=10)


def start_slow(
    directory: Path, name: str, *args: str, seconds: float = 60, targets: tuple[str, ...] = ()
) -> SlowRun:
    """Start ``harness check broken-slow [targets] ARGS`` with its marker in ``directory``."""
    marker = directory / f"{name}.marker"
    env = {
        **os.environ,
        "BROKEN_SLOW_MARKER": str(marker),
        "BROKEN_SLOW_SECONDS": str(seconds),
        "PYTHONUNBUFFERED": "1",
    }
    command = harness_command("check", "broken-slow", *targets, "--no-install", *args)
    return SlowRun(spawn(command, env=env, cwd=directory), marker)


def run_check(*args: str, cwd: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        harness_command("check", "--no-install", *args),
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def owned_by(pid: int) -> list[Any]:
    return containers_labelled(f"{LABEL_PID}={pid}")


def exists(container_id: str) -> bool:
    try:
        docker_client().containers.get(container_id)
    except NotFound:
        return False
    return True


def admin_of(container: Any) -> ServerInfo:
    """Connection details of a harness container, the admin password read from its env."""
    container.reload()
    backend = get_backend(container.labels.get("element-harness.backend", "mariadb"))
    wanted = set(backend.container_env("x"))
    password = next(
        value
        for key, _, value in (entry.partition("=") for entry in container.attrs["Config"]["Env"])
        if key in wanted and value
    )
    return ServerInfo(
        backend=backend.name,
        host="127.0.0.1",
        port=published_port(container, backend.port),
        admin_user=backend.admin_user,
        admin_password=password,
        version="",
        kind="reused",
    )


class Admin:
    """An admin connection to a server, to look at namespaces from outside the runs."""

    def __init__(self, server: ServerInfo) -> None:
        self.backend = get_backend(server.backend)
        self.connection = self.backend.connect(
            server.host, server.port, server.admin_user, server.admin_password
        )

    def namespace_left(self, prefix: str) -> list[str]:
        """Schemas and the user of ``prefix`` still on the server."""
        left = list(self.backend.namespace_schemas(self.connection, prefix))
        if self.backend.user_exists(self.connection, prefix):
            left.append(f"user {prefix}")
        return left

    def registered(self) -> set[str]:
        rows = self.backend.query(self.connection, "SELECT prefix FROM element_harness.namespaces")
        return {row[0] for row in rows}

    def close(self) -> None:
        with suppress(Exception):
            self.connection.close()


def prefix_of(schema: str) -> str:
    """``eh_1a2b3c_mn01`` from ``eh_1a2b3c_mn01_recording`` (stems may hold ``_``)."""
    return "_".join(schema.split("_")[:3])


def element(report: dict[str, Any], name: str) -> dict[str, Any]:
    return next(item for item in report["elements"] if item["name"] == name)


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def faults_image() -> Iterator[str]:
    """The private image for --reuse scenarios; its reusable container is removed after."""
    client = docker_client()
    dockerfile = f"FROM {MARIADB}\nLABEL element-harness.test-image=faults\n".encode()
    client.images.build(fileobj=io.BytesIO(dockerfile), tag=FAULTS_IMAGE, rm=True)
    yield FAULTS_IMAGE
    image_id = client.images.get(FAULTS_IMAGE).id
    for container in containers_labelled(LABEL_REUSE):
        if container.image.id == image_id:
            remove_container(container)
    with suppress(Exception):
        client.images.remove(FAULTS_IMAGE)


def reused_container(image: str) -> Any:
    image_id = docker_client().images.get(image).id
    found = [c for c in containers_labelled(LABEL_REUSE) if c.image.id == image_id]
    assert len(found) == 1, found
    return found[0]


# --- the database dies under an activation --------------------------------------------------


def test_killed_server_is_a_server_error_and_the_run_goes_on(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    run = start_slow(
        tmp_path,
        "killed",
        "--db",
        "mariadb",
        "--image",
        MARIADB,
        "--json",
        str(report_path),
        seconds=3,
        targets=("sample-clean",),
    )
    try:
        run.wait_until_activating()
        (container,) = owned_by(run.process.pid)
        killed = time.monotonic()
        subprocess.run(["docker", "kill", container.id], check=True, capture_output=True)
        code, out, err = run.finish()
        after_kill = time.monotonic() - killed
    finally:
        run.kill()
    assert code == 1, out + err
    assert "Traceback" not in out + err
    assert after_kill < 15, f"{after_kill:.1f} s from the kill to the end of the run"
    report = json.loads(report_path.read_text(encoding="utf-8"))
    slow = element(report, "broken-slow")
    assert slow["status"] == "error", json.dumps(slow, indent=1)
    assert slow["failure"]["class"] == "server_error"
    assert "connection" in slow["failure"]["message"] and slow["failure"]["hint"]
    # The Element after it is still checked and reported, with the same diagnosis.
    rest = element(report, "sample-clean")
    assert rest["status"] == "error" and rest["failure"]["class"] == "server_error", json.dumps(
        rest, indent=1
    )
    assert "server is running" in rest["failure"]["hint"]
    assert report["summary"] == {"total": 2, "passed": 0, "failed": 0, "error": 2}
    assert "ERROR sample-clean" in out
    assert not exists(container.id) and owned_by(run.process.pid) == []


def kill_when_the_round_trip_starts(monkeypatch: pytest.MonkeyPatch, server: ServerInfo) -> None:
    """From now on, the checks of this process kill ``server`` as their round trip begins.

    The round trip itself is the real one; only the moment of the kill is chosen. It
    is called for failed checks too (to record that it did not run), so the kill
    comes after the activation and before the namespace is dropped either way.
    """
    real_round_trip = runner.round_trip

    def killed_first(*args: Any, **kwargs: Any) -> None:
        subprocess.run(["docker", "kill", server.container_id], check=True, capture_output=True)
        real_round_trip(*args, **kwargs)

    monkeypatch.setattr(runner, "round_trip", killed_first)


def test_server_killed_during_the_round_trip_is_a_server_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rows that cannot go in because the server died are the server's fault, not the data's."""
    with started_server("mariadb", MARIADB, RUN) as server:
        kill_when_the_round_trip_starts(monkeypatch, server)
        started = time.monotonic()
        result = check_in_process("sample-clean", server, run=RUN)
        took = time.monotonic() - started
    assert result.failure is not None, result.checks
    assert result.status == "error", result.failure.render()
    assert result.failure.class_ == "server_error", result.failure.render()
    assert "during the data round trip" in result.failure.message
    assert "server is running" in (result.failure.hint or "")
    outcome = result.check("data_roundtrip")
    assert outcome is not None and outcome.status == "failed"
    assert took < AFTER_FAULT, f"{took:.1f} s after the kill"


def test_a_failure_whose_server_then_vanished_is_blamed_on_the_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the Element seemed to do wrong is kept, but the server is named as the cause."""
    with started_server("mariadb", MARIADB, RUN) as server:
        alive = check_in_process("broken-declaration", server, run=RUN)
        kill_when_the_round_trip_starts(monkeypatch, server)
        vanished = check_in_process("broken-declaration", server, run=RUN)
    # The control: with its server alive, the Element's own failure stands.
    assert alive.failure is not None and alive.failure.class_ == "declaration_error"
    assert vanished.failure is not None
    assert vanished.status == "error", vanished.failure.render()
    assert vanished.failure.class_ == "server_error"
    assert "stopped answering" in vanished.failure.message
    assert f"met first: declaration_error: {alive.failure.message}" in vanished.failure.message
    assert (vanished.failure.file, vanished.failure.line) == (
        alive.failure.file,
        alive.failure.line,
    )


# --- no engine ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [("check", "sample-clean", "--db", "mariadb"), ("sweep",)])
def test_unreachable_engine_is_one_sentence(command: tuple[str, ...]) -> None:
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent.sock"}
    started = time.monotonic()
    done = subprocess.run(
        harness_command(*command), capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    first, *rest = done.stderr.splitlines()
    assert first.startswith("harness: error: no container engine answers at unix:///nonexist")
    assert "DOCKER_HOST" in first and "--external" in first
    assert all(line.startswith("  hint:") for line in rest), done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - started < 20


# --- signals: SIGINT cleans up, SIGKILL is swept by the next run, never a live run ------------


def test_sigkilled_run_is_swept_by_the_next_and_sigint_cleans_up(tmp_path: Path) -> None:
    """Own containers: D is SIGKILLed, E stays live; F's sweep takes D's and spares E's."""
    image = ("--db", "mariadb", "--image", MARIADB)
    dead = start_slow(tmp_path, "dead", *image)
    live = start_slow(tmp_path, "live", *image)
    try:
        dead.wait_until_activating()
        live.wait_until_activating()
        (dead_container,) = owned_by(dead.process.pid)
        (live_container,) = owned_by(live.process.pid)
        dead.process.send_signal(signal.SIGKILL)
        dead.process.wait(timeout=10)
        assert exists(dead_container.id), "SIGKILL leaves the container: the sweep's job"

        following = run_check("sample-clean", *image, "-v", cwd=tmp_path)
        assert following.returncode == 0, following.stdout + following.stderr
        assert f"swept leftover container {dead_container.name}" in following.stderr
        assert not exists(dead_container.id)
        assert exists(live_container.id), "the sweep removed a live run's container"

        # SIGINT during activation: the run's container (with its namespace) goes.
        live.process.send_signal(signal.SIGINT)
        code, out, err = live.finish()
    finally:
        dead.kill()
        live.kill()
    assert code == 130, out + err
    assert "interrupted" in err and "Traceback" not in err
    assert "PASS" not in out, "the run finished before the signal: the test checked nothing"
    assert not exists(live_container.id)
    assert owned_by(live.process.pid) == []


def test_reused_server_namespaces_survive_only_while_their_run_lives(
    tmp_path: Path, faults_image: str
) -> None:
    """On a reused server: SIGKILLed A's namespace is swept by B; live B's spared by C;
    SIGINT to B drops B's namespace at once; the server itself stays for the next run."""
    image = ("--db", "mariadb", "--image", faults_image, "--reuse")
    first = start_slow(tmp_path, "a", *image)
    second = None
    admin = None
    try:
        dead_prefix = prefix_of(first.wait_until_activating())
        admin = Admin(admin_of(reused_container(faults_image)))
        first.process.send_signal(signal.SIGKILL)
        first.process.wait(timeout=10)
        assert admin.namespace_left(dead_prefix), "SIGKILL cannot drop anything"

        second = start_slow(tmp_path, "b", *image)
        live_prefix = prefix_of(second.wait_until_activating())
        assert admin.namespace_left(dead_prefix) == [], "the next run did not sweep A"
        assert dead_prefix not in admin.registered()

        third = run_check("sample-clean", *image, cwd=tmp_path)
        assert third.returncode == 0, third.stdout + third.stderr
        assert admin.namespace_left(live_prefix), "a sweep dropped a live run's namespace"

        second.process.send_signal(signal.SIGINT)
        code, out, err = second.finish()
        assert code == 130, out + err
        assert "Traceback" not in err
        assert admin.namespace_left(live_prefix) == []
        assert live_prefix not in admin.registered()
        assert reused_container(faults_image).status == "running"
    finally:
        first.kill()
        if second is not None:
            second.kill()
        if admin is not None:
            admin.close()


# --- concurrent runs ------------------------------------------------------------------------


def test_concurrent_full_runs_pass_and_keep_to_their_own(tmp_path: Path, faults_image: str) -> None:
    """Four checks at once: two on one reused server (namespaces side by side), two with
    containers of their own (each run's sweep sees the other's live container)."""
    targets = ("sample-clean", "sample-multischema", "sample-references", "sample-hasattr")
    variants = {
        "reuse-1": ("--image", faults_image, "--reuse"),
        "reuse-2": ("--image", faults_image, "--reuse"),
        "own-1": ("--image", MARIADB),
        "own-2": ("--image", MARIADB),
    }
    runs = {}
    for name, args in variants.items():
        command = harness_command(
            "check", *targets, "--no-install", "--db", "mariadb", *args, "--json", f"{name}.json"
        )
        runs[name] = spawn(command, cwd=tmp_path)
    try:
        outputs = {name: run.communicate(timeout=120) for name, run in runs.items()}
    finally:
        for run in runs.values():
            with suppress(ProcessLookupError):
                run.kill()
    prefixes: set[str] = set()
    for name, run in runs.items():
        out, err = outputs[name]
        assert run.returncode == 0, f"{name}:\n{out}{err}"
        report = json.loads((tmp_path / f"{name}.json").read_text(encoding="utf-8"))
        assert report["summary"]["passed"] == len(targets)
        for item in report["elements"]:
            checks = {check["name"]: check["status"] for check in item["checks"]}
            assert checks["teardown_clean"] == "passed"
            assert checks["namespace_confined"] == "passed"
            prefixes |= {
                prefix_of(schema)
                for call in item["activations"]
                for schema in call["schemas"].values()
            }
        assert owned_by(run.pid) == [] or name.startswith("reuse")
    assert len(prefixes) == 4 * len(targets), "two checks shared a namespace"
    admin = Admin(admin_of(reused_container(faults_image)))
    try:
        assert not any(admin.namespace_left(prefix) for prefix in prefixes)
    finally:
        admin.close()


# --- a hanging activate ---------------------------------------------------------------------


def test_hanging_activate_times_out_at_the_configured_timeout(
    tmp_path: Path, mariadb_server: ServerInfo
) -> None:
    """broken-timeout's module without its spec's timeout: --timeout 2 decides."""
    (tmp_path / "broken_timeout").symlink_to(SAMPLES / "broken_timeout")
    spec = tmp_path / "hang.toml"
    spec.write_text('name = "hang"\npackage = "broken_timeout"\n', encoding="utf-8")
    url = (
        f"mysql://{mariadb_server.admin_user}:{mariadb_server.admin_password}"
        f"@{mariadb_server.host}:{mariadb_server.port}"
    )
    started = time.monotonic()
    done = run_check(
        str(spec),
        "sample-clean",
        "--timeout",
        "2",
        "--external",
        url,
        "--json",
        "r.json",
        cwd=tmp_path,
        timeout=60,
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    hang = element(report, "hang")
    assert hang["failure"]["class"] == "timeout"
    assert "did not return within 2 s" in hang["failure"]["message"]
    assert "--timeout" in hang["failure"]["hint"]
    assert 2.0 <= hang["timings"]["activate_s"] < 4.0
    assert {c["name"]: c["status"] for c in hang["checks"]}["teardown_clean"] == "passed"
    assert element(report, "sample-clean")["status"] == "passed", "the run stopped at the hang"
    assert elapsed < 30, "the abandoned activate() kept the process alive"
