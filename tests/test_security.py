"""Security: namespaces confine their users, ports stay on loopback, secrets stay secret.

Passwords the harness makes are internal, so a test cannot know them by asking; it
makes them observable instead. Harness processes run here through a small wrapper
(or a ``conftest.py``, for pytest) that writes every string registered with
:func:`harness.redact.register_secret` to a file when the process ends, and the
admin password is also read from outside, from the container's environment
(``docker inspect``) while the run is under way. Every line the run printed and
every report it wrote is then searched for each of those strings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import MARIADB, POSTGRES, harness_command, spawn, wait_for

from harness.activation.namespace import NamespaceSession
from harness.db.backends import get_backend
from harness.db.server import ServerInfo
from harness.engine import docker_client
from harness.runinfo import LABEL_PID, RunIdentity

pytestmark = pytest.mark.docker

RUN = RunIdentity.new()
#: Broken samples whose failure messages quote server errors and exceptions.
NOISY_TARGETS = ("sample-clean", "broken-reference", "broken-server", "broken-namespace")

#: Runs ``harness.cli.main`` and, on exit, dumps the registered secrets to argv[1].
_OBSERVED_CLI = """
import atexit, json, sys
import harness.redact
from harness.cli import main

def dump():
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        json.dump(sorted(harness.redact._registered), out)

atexit.register(dump)
sys.exit(main(sys.argv[2:]))
"""

_DUMP_CONFTEST = """
import json, pathlib
import harness.redact

def pytest_unconfigure(config):
    pathlib.Path("secrets.json").write_text(json.dumps(sorted(harness.redact._registered)))
"""


# --- namespaces -----------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["mariadb", "postgresql"])
def any_server(request: pytest.FixtureRequest) -> Iterator[ServerInfo]:
    from harness.db.provider import provide_server
    from harness.settings import Settings

    image = MARIADB if request.param == "mariadb" else POSTGRES
    settings = Settings(db=request.param, image=image, startup_timeout=60)
    with provide_server(settings, RUN) as server:
        yield server


def _refused(connection: Any, sql: str) -> str | None:
    """None when the server refused ``sql``; otherwise the statement that got through."""
    cursor = connection.cursor()
    try:
        cursor.execute(sql)
        cursor.fetchall() if cursor.description else None
    except Exception:
        with suppress(Exception):
            connection.rollback()
        return None
    with suppress(Exception):
        connection.rollback()
    return sql


def _setup_owned_table(session: NamespaceSession, backend: str) -> str:
    """A table with one row in ``session``'s namespace, made by its own user."""
    schema = session.schema("data")
    quote = "`" if backend != "postgresql" else '"'
    table = f"{quote}{schema}{quote}.secret"
    cursor = session.connection.cursor()
    cursor.execute(
        f"CREATE {'DATABASE' if backend != 'postgresql' else 'SCHEMA'} {quote}{schema}{quote}"
    )
    cursor.execute(f"CREATE TABLE {table} (x int)")
    cursor.execute(f"INSERT INTO {table} VALUES (42)")
    session.connection.commit()
    return table


def test_namespace_users_can_neither_read_nor_write_each_other(any_server: ServerInfo) -> None:
    backend = any_server.backend
    quote = "`" if backend != "postgresql" else '"'
    with (
        NamespaceSession.open(any_server, RUN) as owner,
        NamespaceSession.open(any_server, RUN) as intruder,
    ):
        table = _setup_owned_table(owner, backend)
        other_schema = f"{quote}{owner.schema('data')}{quote}"
        drop_schema = "DROP DATABASE" if backend != "postgresql" else "DROP SCHEMA"
        attempts = [
            f"SELECT * FROM {table}",
            f"INSERT INTO {table} VALUES (1)",
            f"UPDATE {table} SET x = 0",
            f"DELETE FROM {table}",
            f"DROP TABLE {table}",
            f"ALTER TABLE {table} ADD COLUMN y int",
            f"CREATE TABLE {other_schema}.planted (x int)",
            f"{drop_schema} {other_schema}",
            # The ownership registry: deleting a row would hide a namespace from the sweep.
            "SELECT * FROM element_harness.namespaces",
            "DELETE FROM element_harness.namespaces",
        ]
        got_through = [sql for sql in attempts if _refused(intruder.connection, sql) is not None]
        assert got_through == [], f"{backend}: another namespace's user ran {got_through}"
        # And the owner still has its row: nothing above changed anything.
        cursor = owner.connection.cursor()
        cursor.execute(f"SELECT x FROM {table}")
        assert [tuple(row) for row in cursor.fetchall()] == [(42,)]


def test_prefix_pattern_is_escaped(mariadb_server: ServerInfo) -> None:
    """``_`` is a LIKE wildcard: an unescaped grant on ``eh_x_mn01_%`` would also cover
    ``ehxxxmn01x...``; the user may create exactly ``<prefix>_*`` and nothing else."""
    with NamespaceSession.open(mariadb_server, RUN) as session:
        lookalike = session.prefix.replace("_", "x") + "_data"
        no_separator = session.prefix + "data"
        for name in (lookalike, no_separator, "element_harness"):
            assert _refused(session.connection, f"CREATE DATABASE `{name}`") is None, name
        own = f"CREATE DATABASE `{session.schema('mine')}`"
        assert _refused(session.connection, own) == own, "its own namespace must be usable"


# --- secrets --------------------------------------------------------------------------------


@dataclass
class Observed:
    """What one harness process printed and wrote, and the secrets it registered."""

    returncode: int
    outputs: dict[str, str]
    secrets: set[str]


def _admin_password_from_env(container: Any) -> str:
    backend = get_backend(container.labels["element-harness.backend"])
    wanted = set(backend.container_env("x"))
    container.reload()
    return next(
        value
        for key, _, value in (entry.partition("=") for entry in container.attrs["Config"]["Env"])
        if key in wanted and value
    )


def _assert_loopback_only(container: Any) -> None:
    container.reload()
    published = container.attrs["NetworkSettings"]["Ports"]
    bindings = container.attrs["HostConfig"]["PortBindings"]
    assert published and bindings
    for mapping in (*published.values(), *bindings.values()):
        assert mapping and {entry["HostIp"] for entry in mapping} == {"127.0.0.1"}, mapping


def _read_outputs(files: dict[str, Path]) -> dict[str, str]:
    texts = {}
    for name, path in files.items():
        assert path.is_file(), f"{name} was not written"
        texts[name] = path.read_text(encoding="utf-8")
    return texts


def _leaks(outputs: dict[str, str], secrets: set[str]) -> list[str]:
    return [
        f"{name} shows secret {secret[:3]}..."
        for name, text in outputs.items()
        for secret in secrets
        if secret in text
    ]


def _watch_container(process: subprocess.Popen[str], marker: Path) -> Any:
    """The run's container once broken-slow is activating (loopback and env inspected)."""

    def ready() -> Any:
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"the run ended early ({process.returncode}):\n{out}{err}")
        if not marker.exists():
            return None
        found = docker_client().api.containers(filters={"label": f"{LABEL_PID}={process.pid}"})
        return docker_client().containers.get(found[0]["Id"]) if found else None

    return wait_for(ready, 60, "the run's container while broken-slow activates")


def _observed_cli(tmp_path: Path, name: str, *args: str, marker: Path | None = None) -> Any:
    """Start ``harness ARGS`` under the secret-dumping wrapper."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "BROKEN_SLOW_SECONDS": "1"}
    if marker is not None:
        env["BROKEN_SLOW_MARKER"] = str(marker)
    command = [sys.executable, "-c", _OBSERVED_CLI, str(tmp_path / f"{name}.secrets"), *args]
    return spawn(command, cwd=tmp_path, env=env)


def _finish(process: subprocess.Popen[str], tmp_path: Path, name: str) -> Observed:
    try:
        out, err = process.communicate(timeout=120)
    finally:
        with suppress(ProcessLookupError):
            process.kill()
    secrets = set(json.loads((tmp_path / f"{name}.secrets").read_text(encoding="utf-8")))
    reports = {kind: tmp_path / f"{name}.{kind}" for kind in ("json", "xml", "md", "html")}
    outputs = {"stdout": out, "stderr": err, **_read_outputs(reports)}
    return Observed(process.returncode, outputs, secrets)


def _report_flags(name: str) -> list[str]:
    """Every report format of ``harness check``, named after the run."""
    kinds = {"--json": "json", "--junit": "xml", "--markdown": "md", "--html": "html"}
    return [part for flag, kind in kinds.items() for part in (flag, f"{name}.{kind}")]


def test_passwords_are_random_per_run_and_appear_in_no_output(tmp_path: Path) -> None:
    """Two `harness check -v` runs with every report: admin and namespace passwords
    differ between them and none appears in stdout, stderr, JSON, JUnit, Markdown or HTML
    (failure messages there quote server errors and exceptions)."""
    marker = tmp_path / "first.marker"
    common = ["--no-install", "--db", "mariadb", "--image", MARIADB, "-v"]
    first = _observed_cli(
        tmp_path,
        "first",
        "check",
        "broken-slow",
        *NOISY_TARGETS,
        *common,
        *_report_flags("first"),
        marker=marker,
    )
    second = _observed_cli(
        tmp_path, "second", "check", *NOISY_TARGETS, *common, *_report_flags("second")
    )
    try:
        container = _watch_container(first, marker)
        _assert_loopback_only(container)
        admin_password = _admin_password_from_env(container)
    finally:
        runs = [_finish(first, tmp_path, "first"), _finish(second, tmp_path, "second")]
    for run in runs:
        assert run.returncode == 1, run.outputs["stdout"] + run.outputs["stderr"]
        assert "Traceback" not in run.outputs["stderr"]
        # admin + one namespace per Element, at least
        assert len(run.secrets) >= 1 + len(NOISY_TARGETS)
        assert _leaks(run.outputs, run.secrets) == []
    assert admin_password in runs[0].secrets, "the dump misses the admin password"
    assert runs[0].secrets.isdisjoint(runs[1].secrets), "a password repeated across runs"
    assert _leaks(runs[1].outputs, runs[0].secrets) == []
    report = json.loads(runs[0].outputs["json"])
    assert {e["name"]: e["failure"]["class"] for e in report["elements"] if e["failure"]} == {
        "broken-reference": "unresolved_reference",
        "broken-server": "server_error",
        "broken-namespace": "namespace_violation",
    }


def test_pytest_run_shows_no_password(tmp_path: Path) -> None:
    """The pytest plugin: -v output, captured logs and every report of --harness-report."""
    (tmp_path / "conftest.py").write_text(_DUMP_CONFTEST, encoding="utf-8")
    marker = tmp_path / "marker"
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "BROKEN_SLOW_SECONDS": "1",
        "BROKEN_SLOW_MARKER": str(marker),
    }
    command = [sys.executable, "-m", "pytest", "-v", "-rA", "-p", "no:cacheprovider"]
    for target in ("broken-slow", *NOISY_TARGETS):
        command += ["--harness-element", target]
    command += ["--harness-report", "reports", "--harness-db", "mariadb"]
    command += ["--harness-image", MARIADB]
    process = spawn(command, cwd=tmp_path, env=env)
    try:
        container = _watch_container(process, marker)
        _assert_loopback_only(container)
        admin_password = _admin_password_from_env(container)
        out, err = process.communicate(timeout=120)
    finally:
        with suppress(ProcessLookupError):
            process.kill()
    assert process.returncode == pytest.ExitCode.TESTS_FAILED, out + err
    assert "broken-server" in out and "server_error" in out
    secrets = set(json.loads((tmp_path / "secrets.json").read_text(encoding="utf-8")))
    assert admin_password in secrets and len(secrets) >= 1 + len(NOISY_TARGETS)
    reports = sorted((tmp_path / "reports").iterdir())
    assert {path.name for path in reports} >= {"report.json", "junit.xml", "report.md"}
    outputs = {"stdout": out, "stderr": err}
    outputs |= {path.name: path.read_text(encoding="utf-8") for path in reports}
    assert _leaks(outputs, secrets) == []


# --- URLs with passwords --------------------------------------------------------------------

_SECRET = "UrlSecret9dQ"


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("--external", f"mysql://root:{_SECRET}@127.0.0.1:1"), {}),
        (("--external", f"mysql://root:{_SECRET}@127.0.0.1:notaport"), {}),
        (("--external", f"postgresql://admin:{_SECRET}@127.0.0.1:1"), {}),
        ((), {"HARNESS_EXTERNAL": f"mariadb://root:{_SECRET}@127.0.0.1:1"}),
        ((), {"DJ_HOST": "127.0.0.1:1", "DJ_USER": "root", "DJ_PASS": _SECRET}),
    ],
    ids=["flag", "malformed", "postgresql", "HARNESS_EXTERNAL", "DJ_PASS"],
)
def test_urls_with_passwords_are_redacted(args: tuple[str, ...], env: dict[str, str]) -> None:
    started = time.monotonic()
    done = subprocess.run(
        harness_command("check", "sample-clean", "-v", "--startup-timeout", "1", *args),
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )
    shown = done.stdout + done.stderr
    assert done.returncode == 2, shown
    assert _SECRET not in shown
    assert "harness: error:" in done.stderr and "Traceback" not in shown
    assert "127.0.0.1" in shown, "the error should still say which server"
    assert time.monotonic() - started < 30
