"""Real database servers: started, described, reached, and removed again.

Every test here talks to a real engine with real images (see conftest): no
mocked docker, no skips.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from conftest import LOCAL_IMAGES, MARIADB, MYSQL, containers_labelled, harness_command
from docker.errors import NotFound

from harness.db.backends import get_backend
from harness.db.backends.base import is_loopback
from harness.db.backends.mariadb import MariaDBBackend
from harness.db.container import resolve_image, start_container_server
from harness.db.direct_route import answers, direct_address, is_own_address
from harness.db.provider import provide_server
from harness.db.server import ServerInfo
from harness.engine import docker_client
from harness.errors import ConfigurationError, ServerStartError, ServerUnreachable
from harness.runinfo import LABEL_PID, LABEL_RUN_ID, RunIdentity
from harness.settings import OPTIONS, Settings

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "compose" / "docker-compose.yml"
VERSION_LABEL = "element-harness.server-version"


def _query(server: ServerInfo, sql: str) -> Any:
    backend = get_backend(server.backend)
    connection = backend.connect(server.host, server.port, server.admin_user, server.admin_password)
    try:
        cursor = connection.cursor()
        cursor.execute(sql)
        return cursor.fetchone()[0]
    finally:
        connection.close()


def _gone(container_id: str | None) -> bool:
    assert container_id
    try:
        docker_client().containers.get(container_id)
    except NotFound:
        return True
    return False


def _run_containers(run: RunIdentity) -> list[Any]:
    return containers_labelled(f"{LABEL_RUN_ID}={run.run_id}")


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- each backend image -------------------------------------------------------------


@pytest.mark.docker
@pytest.mark.parametrize(("backend", "image"), LOCAL_IMAGES, ids=[i for _, i in LOCAL_IMAGES])
def test_each_image_starts_answers_and_is_removed(backend: str, image: str) -> None:
    label = docker_client().images.get(image).labels[VERSION_LABEL]
    settings = Settings(db=backend, image=image, startup_timeout=60)
    with provide_server(settings) as server:
        reported = str(_query(server, "SELECT VERSION()"))
        container_id = server.container_id
        assert server.backend == backend
        assert server.kind == "container"
        assert server.image is not None and server.image.name == image
        assert server.version.startswith(label)
        assert label in reported
        assert docker_client().containers.get(container_id).status == "running"
    assert _gone(container_id)


@pytest.mark.docker
def test_throwaway_mysql_runs_without_redo_log_and_durable_flushes() -> None:
    """The MySQL image is tuned as a throwaway server (nothing to recover on tmpfs)."""
    with provide_server(Settings(db="mysql", image=MYSQL, startup_timeout=60)) as server:
        backend = get_backend(server.backend)
        connection = backend.connect(
            server.host, server.port, server.admin_user, server.admin_password
        )
        try:
            settings = dict(
                backend.query(
                    connection,
                    "SHOW GLOBAL STATUS WHERE variable_name = 'Innodb_redo_log_enabled'",
                )
            )
            settings.update(
                backend.query(
                    connection,
                    "SHOW GLOBAL VARIABLES WHERE variable_name IN ('innodb_doublewrite', "
                    "'innodb_flush_log_at_trx_commit', 'performance_schema', 'log_bin')",
                )
            )
        finally:
            connection.close()
    assert settings == {
        "Innodb_redo_log_enabled": "OFF",
        "innodb_doublewrite": "OFF",
        "innodb_flush_log_at_trx_commit": "0",
        "performance_schema": "OFF",
        "log_bin": "OFF",
    }


@pytest.mark.docker
def test_ports_bind_loopback_only(mariadb_server: ServerInfo) -> None:
    container = docker_client().containers.get(mariadb_server.container_id)
    bindings = container.attrs["HostConfig"]["PortBindings"]
    published = container.attrs["NetworkSettings"]["Ports"]
    assert set(bindings) == set(published) == {"3306/tcp"}
    for mapping in (*bindings.values(), *published.values()):
        assert mapping, "the server port must be published"
        assert {entry["HostIp"] for entry in mapping} == {"127.0.0.1"}
    assert int(published["3306/tcp"][0]["HostPort"]) == mariadb_server.port
    assert mariadb_server.host == "127.0.0.1"


@pytest.mark.docker
def test_connections_skip_the_port_proxy_at_the_containers_bridge_address(
    mariadb_server: ServerInfo,
) -> None:
    """On this Linux engine the harness reaches its container directly, in the clear.

    The published port stays the public address; the direct one is the same server
    (a schema made through it is seen through the published port) and is treated as
    host-local, so no TLS is negotiated there either.
    """
    container = docker_client().containers.get(mariadb_server.container_id)
    networks = container.attrs["NetworkSettings"]["Networks"].values()
    assert mariadb_server.direct_host in {network["IPAddress"] for network in networks}
    assert mariadb_server.address() == (mariadb_server.direct_host, 3306)
    assert (mariadb_server.host, mariadb_server.port) != mariadb_server.address()
    assert is_loopback(mariadb_server.direct_host)
    backend = get_backend(mariadb_server.backend)
    schema = f"eh_direct_{secrets.token_hex(4)}"
    direct = backend.connect(
        *mariadb_server.address(), mariadb_server.admin_user, mariadb_server.admin_password
    )
    try:
        cursor = direct.cursor()
        cursor.execute("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
        assert cursor.fetchone()[1] == ""  # no TLS on a host-local bridge
        cursor.execute(f"CREATE DATABASE {schema}")
        assert _query(mariadb_server, f"SELECT COUNT(*) FROM information_schema.schemata "
                      f"WHERE schema_name = '{schema}'") == 1  # fmt: skip
        cursor.execute(f"DROP DATABASE {schema}")
    finally:
        direct.close()


def test_no_direct_address_where_the_gateway_is_not_this_machines() -> None:
    """An address behind a gateway this machine does not own is never connected to."""
    elsewhere = SimpleNamespace(
        attrs={"NetworkSettings": {"Networks": {"bridge": {
            "IPAddress": "192.0.2.10", "Gateway": "192.0.2.1"}}}}  # TEST-NET-1
    )  # fmt: skip
    assert not is_own_address("192.0.2.1")
    assert direct_address(elsewhere, 3306) is None
    assert direct_address(SimpleNamespace(attrs={}), 3306) is None
    assert is_own_address("127.0.0.1")
    assert not answers("127.0.0.1", _closed_port(), timeout=0.5)


def test_a_described_direct_address_is_host_local_in_the_reading_process() -> None:
    """A server description read in another process (xdist) keeps its direct address."""
    address = "198.18.0.7"  # benchmarking range: registered by nothing else
    assert not is_loopback(address)
    info = ServerInfo(
        backend="mysql", host="127.0.0.1", port=1, admin_user="root", admin_password="x",
        version="9", kind="container", direct_host=address, direct_port=3306,
    )  # fmt: skip
    again = ServerInfo.from_json(info.to_json())
    assert again.address() == (address, 3306) and is_loopback(address)
    plain = ServerInfo.from_json(json.dumps({**json.loads(info.to_json()), "direct_host": None}))
    assert plain.address() == ("127.0.0.1", 1)


@pytest.mark.docker
def test_data_directory_is_tmpfs_and_container_is_labelled(mariadb_server: ServerInfo) -> None:
    container = docker_client().containers.get(mariadb_server.container_id)
    assert "/var/lib/mysql" in (container.attrs["HostConfig"].get("Tmpfs") or {})
    assert container.labels[LABEL_PID] == str(os.getpid())
    assert {LABEL_RUN_ID, "element-harness.created", "element-harness.host"} <= set(
        container.labels
    )


@pytest.mark.docker
def test_description_holds_no_password(mariadb_server: ServerInfo) -> None:
    password = mariadb_server.admin_password
    assert len(password) >= 16
    shown = [
        repr(mariadb_server),
        str(mariadb_server),
        mariadb_server.describe(),
        json.dumps(mariadb_server.public_dict()),
        mariadb_server.url(),
    ]
    for text in shown:
        assert password not in text
    assert password in mariadb_server.url(reveal_password=True)
    assert _query(mariadb_server, "SELECT 1") == 1


# --- servers that do not come up ----------------------------------------------------


class _NoPasswordMariaDB(MariaDBBackend):
    """The image refuses to initialise without a root password: it exits at once."""

    def container_env(self, admin_password: str) -> dict[str, str]:
        return {}


@pytest.mark.docker
def test_container_that_exits_gives_its_log_and_leaves_nothing() -> None:
    run = RunIdentity.new()
    started = time.monotonic()
    with pytest.raises(ServerStartError) as caught:
        start_container_server(_NoPasswordMariaDB(), resolve_image(MARIADB), run, timeout=60)
    elapsed = time.monotonic() - started
    message = str(caught.value)
    assert MARIADB in message
    assert "exited with status 1" in message
    assert "log lines" in message
    assert "password option is not specified" in message
    assert elapsed < 30, f"an exited container must be reported at once, took {elapsed:.1f} s"
    assert _run_containers(run) == []


@pytest.mark.docker
def test_server_that_never_answers_times_out_and_leaves_nothing() -> None:
    run = RunIdentity.new()
    started = time.monotonic()
    with pytest.raises(ServerStartError) as caught:
        start_container_server(
            MariaDBBackend(), resolve_image(MARIADB), run, timeout=3, command=["sleep", "600"]
        )
    elapsed = time.monotonic() - started
    message = str(caught.value)
    assert MARIADB in message
    assert "did not accept SQL within 3 s" in message
    assert "log lines" in message
    assert 3.0 <= elapsed < 13.0
    assert _run_containers(run) == []


# --- external servers ---------------------------------------------------------------


@pytest.fixture
def compose_mysql() -> Iterator[tuple[str, str, int, str]]:
    """The compose file's mysql80 service on the local MySQL image, in a unique project."""
    project = f"eh-test-{secrets.token_hex(4)}"
    password = secrets.token_hex(12)
    port = _closed_port()
    env = {
        **os.environ,
        "HARNESS_MYSQL80_IMAGE": MYSQL,
        "HARNESS_MYSQL80_PORT": str(port),
        "MYSQL_ROOT_PASSWORD": password,
        # Compose v1 interpolates every service, even those not started.
        "POSTGRES_PASSWORD": "unused-here",
        "MINIO_ROOT_USER": "unused-here",
        "MINIO_ROOT_PASSWORD": "unused-here",
    }
    compose = ["docker-compose", "-p", project, "-f", str(COMPOSE_FILE)]
    try:
        subprocess.run(
            [*compose, "up", "-d", "mysql80"], env=env, check=True, capture_output=True, timeout=120
        )
        yield project, password, port, f"mysql://root:{password}@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*compose, "down", "-v", "--remove-orphans"],
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert containers_labelled(f"com.docker.compose.project={project}") == []


@pytest.mark.docker
def test_external_server_from_compose_is_used_and_left_running(
    compose_mysql: tuple[str, str, int, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, password, port, url = compose_mysql
    label = docker_client().images.get(MYSQL).labels[VERSION_LABEL]
    with provide_server(Settings(external=url, startup_timeout=90)) as server:
        assert (server.kind, server.backend, server.port) == ("external", "mysql", port)
        assert server.container_id is None and server.image is None
        assert server.version == label
        assert password not in server.describe() + repr(server)
    (service,) = containers_labelled(f"com.docker.compose.project={project}")
    assert service.status == "running"
    assert _query(server, "SELECT 1") == 1

    # DataJoint's own variables name the same server.
    monkeypatch.setenv("DJ_HOST", "127.0.0.1")
    monkeypatch.setenv("DJ_PORT", str(port))
    monkeypatch.setenv("DJ_USER", "root")
    monkeypatch.setenv("DJ_PASS", password)
    with provide_server(Settings(startup_timeout=10)) as from_dj:
        assert (from_dj.kind, from_dj.port, from_dj.version) == ("external", port, label)
    service.reload()
    assert service.status == "running"


@pytest.mark.parametrize(
    ("url", "error", "expected"),
    [
        ("mysql://root:Sekr1tPw@db:notaport", ConfigurationError, "malformed"),
        ("oracle://root:Sekr1tPw@db:1521", ConfigurationError, "unknown scheme 'oracle'"),
        ("mysql://root:Sekr1tPw@:3306", ConfigurationError, "names no host"),
    ],
)
def test_bad_external_url_is_a_clear_error(url: str, error: type, expected: str) -> None:
    started = time.monotonic()
    with pytest.raises(error) as caught, provide_server(Settings(external=url)):
        pass
    assert expected in str(caught.value)
    assert "Sekr1tPw" not in str(caught.value)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("scheme", ["mysql", "postgresql"])
def test_unreachable_external_server_fails_within_the_timeout(scheme: str) -> None:
    port = _closed_port()
    url = f"{scheme}://admin:Sekr1tPw@127.0.0.1:{port}"
    started = time.monotonic()
    settings = Settings(external=url, startup_timeout=2)
    with pytest.raises(ServerUnreachable) as caught, provide_server(settings):
        pass
    elapsed = time.monotonic() - started
    message = str(caught.value)
    assert f"127.0.0.1:{port}" in message and "within 2 s" in message
    assert "Sekr1tPw" not in message
    assert 2.0 <= elapsed < 6.0


def test_cli_reports_unreachable_external_server_without_password() -> None:
    url = f"mysql://root:Sekr1tPw@127.0.0.1:{_closed_port()}"
    done = subprocess.run(
        harness_command("smoke", "--external", url, "--startup-timeout", "1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("harness: error: external server")
    assert "Sekr1tPw" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


# --- no engine ----------------------------------------------------------------------


def test_no_engine_is_one_clear_message() -> None:
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent.sock"}
    started = time.monotonic()
    done = subprocess.run(
        harness_command("smoke", "mariadb"), capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("harness: error:") == 1
    assert "unix:///nonexistent.sock" in done.stderr
    assert "DOCKER_HOST" in done.stderr
    assert "Traceback" not in done.stderr
    assert time.monotonic() - started < 20


def test_no_engine_fails_the_pytest_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_needs_server(harness_server):\n    pass\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DOCKER_HOST", "unix:///nonexistent.sock")
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--harness-db", "mariadb")
    result.assert_outcomes(errors=1)
    output = result.stdout.str()
    assert "DOCKER_HOST" in output and "unix:///nonexistent.sock" in output
    assert "harness/engine.py" not in output and "docker/api" not in output


# --- the pytest plugin --------------------------------------------------------------


def test_pytest_help_lists_every_option_in_the_harness_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if line.startswith("element-harness ("))
    group: list[str] = []
    for line in lines[start + 1 :]:
        if line and not line.startswith(" "):
            break
        group.append(line)
    text = "\n".join(group)
    for option in OPTIONS:
        assert re.search(rf"^\s+{re.escape(option.pytest_flag)}\b", text, re.M), option.name
        assert option.env_var in text


_RECORD_SERVER = """
import json, os, pathlib
from harness.pytest_plugin import SERVER_KEY

def record(server, request, tag):
    run = request.config.stash[SERVER_KEY].run
    pathlib.Path(f"server-{tag}.json").write_text(
        json.dumps({"id": server.container_id, "run": run.run_id, "pid": os.getpid()})
    )
"""


@pytest.mark.docker
def test_harness_server_fixture_leaves_no_container(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(recorder=_RECORD_SERVER)
    pytester.makepyfile(
        """
        from recorder import record

        def test_server(harness_server, request):
            record(harness_server, request, "one")
            assert harness_server.kind == "container" and harness_server.backend == "mariadb"
        """
    )
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "--harness-db", "mariadb", "--harness-image", MARIADB
    )
    result.assert_outcomes(passed=1)
    record = json.loads((pytester.path / "server-one.json").read_text())
    assert _gone(record["id"])
    assert containers_labelled(f"{LABEL_RUN_ID}={record['run']}") == []


@pytest.mark.docker
def test_xdist_workers_share_one_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(recorder=_RECORD_SERVER)
    pytester.makepyfile(
        """
        import os, time
        import pytest
        from recorder import record

        @pytest.mark.parametrize("n", range(4))
        def test_server(harness_server, request, n):
            record(harness_server, request, f"{os.environ['PYTEST_XDIST_WORKER']}-{n}")
            time.sleep(0.3)
        """
    )
    xdist = ["-p", "xdist", "-n", "2", "--dist", "load"]
    result = pytester.runpytest_subprocess(
        *xdist, "-p", "no:cacheprovider", "--harness-db", "mariadb", "--harness-image", MARIADB
    )
    result.assert_outcomes(passed=4)
    records = [json.loads(p.read_text()) for p in pytester.path.glob("server-*.json")]
    assert len(records) == 4
    assert len({r["pid"] for r in records}) == 2, "both workers must have used the server"
    assert len({r["id"] for r in records}) == 1, "one server for the whole session"
    assert len({r["run"] for r in records}) == 1
    assert _gone(records[0]["id"])
    assert containers_labelled(f"{LABEL_RUN_ID}={records[0]['run']}") == []
