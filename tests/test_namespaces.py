"""Namespaces of dead processes are swept from long-lived servers; live ones never are."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import MARIADB, POSTGRES, started_server, wait_for

from harness.db import registry
from harness.db.backends import get_backend
from harness.db.server import ServerInfo
from harness.runinfo import RunIdentity, process_identity, process_start_time

pytestmark = pytest.mark.docker

OWNER = textwrap.dedent(
    """
    import json, sys, time
    from harness.activation.namespace import Namespace
    from harness.db.backends import get_backend
    from harness.db.server import ServerInfo
    server = ServerInfo.from_json(sys.stdin.read())
    backend = get_backend(server.backend)
    admin = backend.connect(server.host, server.port, server.admin_user, server.admin_password)
    namespace = Namespace.create(backend, admin, sys.argv[1])
    cursor = admin.cursor()
    cursor.execute(f"CREATE DATABASE `{namespace.schema('data')}`")
    print("ready", flush=True)
    time.sleep(600)
    """
)


def _python(script: str, *args: str) -> subprocess.Popen[str]:
    """``script`` in a fresh interpreter, talking over its standard streams."""
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def server() -> Iterator[ServerInfo]:
    from harness.db.provider import provide_server
    from harness.settings import Settings

    with provide_server(Settings(db="mariadb", image=MARIADB, startup_timeout=60)) as info:
        yield info


def _owner(server: ServerInfo, prefix: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", OWNER, prefix],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(server.to_json())
    process.stdin.close()
    assert process.stdout.readline().strip() == "ready"
    return process


def _exists(server: ServerInfo, prefix: str) -> dict[str, Any]:
    backend = get_backend(server.backend)
    admin = backend.connect(server.host, server.port, server.admin_user, server.admin_password)
    try:
        return {
            "schemas": backend.namespace_schemas(admin, prefix),
            "user": backend.user_exists(admin, prefix),
        }
    finally:
        admin.close()


def _sweep(server: ServerInfo) -> list[str]:
    backend = get_backend(server.backend)
    admin = backend.connect(server.host, server.port, server.admin_user, server.admin_password)
    registry.forget_swept((server.host, server.port))
    try:
        return registry.sweep_dead_namespaces(backend, admin, (server.host, server.port))
    finally:
        admin.close()


def test_killed_owner_is_swept_and_live_owner_spared(server: ServerInfo) -> None:
    run = RunIdentity.new()
    dead_prefix, live_prefix = f"eh_{run.run_id[:6]}_kn01", f"eh_{run.run_id[:6]}_kn02"
    dead = _owner(server, dead_prefix)
    live = _owner(server, live_prefix)
    try:
        dead.kill()  # SIGKILL: no cleanup code runs
        dead.wait(timeout=10)
        assert _exists(server, dead_prefix) == {
            "schemas": [f"{dead_prefix}_data"],
            "user": True,
        }
        swept = _sweep(server)
        assert dead_prefix in swept and live_prefix not in swept
        assert _exists(server, dead_prefix) == {"schemas": [], "user": False}
        assert _exists(server, live_prefix) == {"schemas": [f"{live_prefix}_data"], "user": True}
    finally:
        live.kill()
        live.wait(timeout=10)
    wait_for(lambda: live.poll() is not None, 10, "the live owner to exit")
    assert live_prefix in _sweep(server)
    assert _exists(server, live_prefix) == {"schemas": [], "user": False}


def test_registry_schema_is_not_counted_as_a_namespace_violation(server: ServerInfo) -> None:
    from harness.activation.namespace import new_prefix
    from harness.activation.runner import ElementCheck
    from harness.elements.targets import resolve_target

    result = ElementCheck(
        resolve_target("sample-clean"), server, new_prefix(RunIdentity.new().run_id)
    ).run()
    confined = result.check("namespace_confined")
    assert confined is not None and confined.status == "passed", json.dumps(result.to_dict())[:500]


def _make_an_older_registry(backend: Any, admin: Any) -> None:
    """The registry as a harness without the ``owner`` column made it, empty."""
    backend.query(admin, f"DROP SCHEMA IF EXISTS {registry.REGISTRY_SCHEMA}")
    backend.query(admin, f"CREATE SCHEMA {registry.REGISTRY_SCHEMA}")
    backend.query(
        admin,
        f"CREATE TABLE {registry.REGISTRY_SCHEMA}.namespaces (prefix varchar(32) PRIMARY KEY, "
        "pid integer NOT NULL, started double precision NOT NULL, host varchar(255) NOT NULL)",
    )


@pytest.mark.parametrize("backend_name, image", [("postgresql", POSTGRES), ("mariadb", MARIADB)])
def test_a_registry_an_older_harness_made_is_upgraded_and_judged_right(
    backend_name: str, image: str
) -> None:
    """Rows without an owner identity keep the start-time rule; new rows carry it.

    The registry is made as a harness without the ``owner`` column made it; one row
    of a live process, one of a dead one. The sweep adds the column, drops only the
    dead row, and a row of a live owner whose start stamp a clock set forward has
    made look an hour old is spared for its identity.
    """
    with started_server(backend_name, image, RunIdentity.new()) as server:
        _upgrade_the_old_registry(server)


def _upgrade_the_old_registry(server: ServerInfo) -> None:
    backend = get_backend(server.backend)
    admin = backend.connect(server.host, server.port, server.admin_user, server.admin_password)
    live = subprocess.Popen(["sleep", "120"])
    dead = subprocess.Popen(["true"])
    dead.wait()
    table = f"{registry.REGISTRY_SCHEMA}.namespaces"
    try:
        _make_an_older_registry(backend, admin)
        host = socket.gethostname()
        live_started = process_start_time(live.pid)
        assert live_started is not None
        rows = [("eh_old1_live", live.pid, live_started), ("eh_old1_dead", dead.pid, 1.0)]
        for prefix, pid, started in rows:
            backend.query(
                admin,
                f"INSERT INTO {table} (prefix, pid, started, host) VALUES (%s, %s, %s, %s)",
                (prefix, pid, started, host),
            )

        assert _sweep(server) == ["eh_old1_dead"]

        backend.query(
            admin,
            f"INSERT INTO {table} (prefix, pid, started, host, owner) VALUES (%s, %s, %s, %s, %s)",
            ("eh_old1_stepped", live.pid, live_started - 3600, host, process_identity(live.pid)),
        )
        registry.register(backend, admin, "eh_old1_mine")
        assert _sweep(server) == []
        owners = dict(backend.query(admin, f"SELECT prefix, owner FROM {table}"))
        assert owners == {
            "eh_old1_live": None,
            "eh_old1_stepped": process_identity(live.pid),
            "eh_old1_mine": process_identity(os.getpid()),
        }
    finally:
        live.kill()
        live.wait()
        for prefix in ("eh_old1_live", "eh_old1_stepped", "eh_old1_mine"):
            registry.unregister(backend, admin, prefix)
        admin.close()


def test_an_account_that_cannot_alter_an_older_registry_still_uses_it(server: ServerInfo) -> None:
    """An external server's registry made by another account: written to, never altered."""
    backend = get_backend(server.backend)
    admin = backend.connect(server.host, server.port, server.admin_user, server.admin_password)
    table = f"{registry.REGISTRY_SCHEMA}.namespaces"
    password = "Registry-Writer-9"
    try:
        _make_an_older_registry(backend, admin)
        backend.query(admin, "CREATE USER 'eh_regwriter'@'%%' IDENTIFIED BY %s", (password,))
        backend.query(
            admin, f"GRANT SELECT, INSERT, DELETE ON {table} TO %s@'%%'", ("eh_regwriter",)
        )
        writer = backend.connect(server.host, server.port, "eh_regwriter", password)
        try:
            registry.forget_swept((server.host, server.port))
            assert registry.sweep_dead_namespaces(backend, writer, (server.host, server.port)) == []
            registry.register(backend, writer, "eh_old2_mine")
            rows = backend.query(admin, f"SELECT prefix, pid FROM {table}")
            assert [tuple(row) for row in rows] == [("eh_old2_mine", os.getpid())]
            registry.unregister(backend, writer, "eh_old2_mine")
        finally:
            writer.close()
        assert not backend.query(
            admin,
            "SELECT 1 FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = 'namespaces' AND column_name = 'owner'",
            (registry.REGISTRY_SCHEMA,),
        )
    finally:
        backend.query(admin, "DROP USER IF EXISTS %s@'%%'", ("eh_regwriter",))
        backend.query(admin, f"DROP SCHEMA IF EXISTS {registry.REGISTRY_SCHEMA}")
        admin.close()


REGISTER = textwrap.dedent(
    """
    import sys
    from harness.db import registry
    from harness.db.backends import get_backend
    from harness.db.server import ServerInfo
    server = ServerInfo.from_json(sys.stdin.read())
    backend = get_backend(server.backend)
    admin = backend.connect(server.host, server.port, server.admin_user, server.admin_password)
    registry.sweep_dead_namespaces(backend, admin, (server.host, server.port))
    registry.register(backend, admin, sys.argv[1])
    registry.unregister(backend, admin, sys.argv[1])
    print("registered", flush=True)
    """
)


@pytest.mark.parametrize("backend_name, image", [("postgresql", POSTGRES), ("mariadb", MARIADB)])
def test_runs_starting_at_once_on_a_fresh_server_register(backend_name: str, image: str) -> None:
    """Concurrent first registrations, and a registry schema without its table yet.

    Two checks of a release check start together on a fresh server: one may see the
    registry's schema before its table exists, and PostgreSQL's ``IF NOT EXISTS``
    lets one of two concurrent creations fail. Neither may fail the check.
    """
    with started_server(backend_name, image, RunIdentity.new()) as server:
        backend = get_backend(server.backend)
        admin = backend.connect(server.host, server.port, server.admin_user, server.admin_password)
        try:  # half-made: the schema, no table (another run between its two statements)
            backend.query(admin, f"CREATE SCHEMA {registry.REGISTRY_SCHEMA}")
            registry.forget_swept((server.host, server.port))
            assert registry.sweep_dead_namespaces(backend, admin, (server.host, server.port)) == []
            assert registry.unclaimed_schemas(backend, admin, ["x_1"]) == []
            backend.query(admin, f"DROP SCHEMA {registry.REGISTRY_SCHEMA}")
        finally:
            admin.close()
        processes = [_python(REGISTER, f"eh_race{number}") for number in range(6)]
        for process in processes:
            out, err = process.communicate(server.to_json(), timeout=120)
            assert process.returncode == 0 and out.strip() == "registered", err


CHURN = textwrap.dedent(
    """
    import sys
    from harness.activation.namespace import Namespace
    from harness.db.backends import get_backend
    from harness.db.server import ServerInfo
    server = ServerInfo.from_json(sys.stdin.readline())
    backend = get_backend(server.backend)
    admin = backend.connect(server.host, server.port, server.admin_user, server.admin_password)
    print("ready", flush=True)
    sys.stdin.readline()  # all start at once
    made = [
        Namespace.create(backend, admin, f"{sys.argv[1]}r{round_}")
        for round_ in range(int(sys.argv[2]))
    ]
    assert all(namespace.drop() == [] for namespace in made)
    print("done", flush=True)
    """
)


def test_namespaces_made_and_dropped_at_once_on_postgresql_do_not_collide() -> None:
    """Checks that start and end together grant and revoke on the same database row.

    PostgreSQL fails one of two sessions changing that row at once ("tuple
    concurrently updated": two sides of a release check start together); the
    backend takes turns, so none of these fails.
    """
    with started_server("postgresql", POSTGRES, RunIdentity.new()) as server:
        processes = [_python(CHURN, f"eh_churn{number}", "15") for number in range(8)]
        for process in processes:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(server.to_json() + "\n")
            process.stdin.flush()
            assert process.stdout.readline().strip() == "ready"
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("go\n")
            process.stdin.flush()
        for process in processes:
            out, err = process.communicate(timeout=180)
            assert process.returncode == 0 and out.strip() == "done", err
