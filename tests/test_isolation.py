"""Element code cannot take the run down: each check runs in a process of its own.

One ``harness check`` run on a real server checks well-behaved samples together
with one broken sample per misbehaviour (``sys.exit`` in activate, ``argparse`` at
import, a non-daemon thread, ``os._exit(0)``, a segfault, a hang at import,
``os.chdir`` and ``dj.config`` changes, megabytes of output followed by SIGKILL).
The good ones pass, each bad one fails with its class, its line where one is
known and the last lines of its output; the run ends by itself, writes a
complete report, exits 1 and leaves nothing on the server or the engine. The same
run with ``--jobs 2`` gives the same results; pytest's Element items and the
``activate_element`` fixture survive the same Elements.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import MARIADB, containers_labelled, harness_command, spawn, wait_for

from harness.db.backends import get_backend
from harness.db.backends.base import REGISTRY_SCHEMA
from harness.db.server import ServerInfo
from harness.runinfo import LABEL_PID

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "elements" / "samples"
GOOD = ("sample-clean", "sample-references")
#: Broken sample -> (failure class, the statement at fault or None when no line is known).
BAD: dict[str, tuple[str, str | None]] = {
    "broken-exit": ("process_exit", "sys.exit(3)"),
    "broken-argv": ("process_exit", "ARGUMENTS = parser.parse_args()"),
    "broken-thread": ("global_state", None),
    "broken-os-exit": ("process_exit", "os._exit(0)"),
    "broken-crash": ("crash", "ctypes.string_at(0)"),
    "broken-hang": ("timeout", "time.sleep(3600)"),
    "broken-state": ("global_state", None),
    "broken-output": ("crash", None),
}
TARGETS = (GOOD[0], *BAD, GOOD[1])
#: broken-hang's deadline is 2 * 2 s + 10 s; everything else takes seconds.
RUN_BOUND = 90.0


def url_of(server: ServerInfo) -> str:
    return f"mysql://{server.admin_user}:{server.admin_password}@{server.host}:{server.port}"


def line_of(sample: str, statement: str) -> tuple[str, int]:
    """The file and line of ``statement`` in the broken sample's one module."""
    package = SAMPLES / sample.replace("-", "_")
    for path in sorted(package.glob("*.py")):
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if text.strip() == statement:
                return str(path), number
    raise AssertionError(f"{statement!r} not found in {package}")


def server_state(server: ServerInfo) -> tuple[set[str], set[str], set[str]]:
    """Schemas (the harness's registry aside), users and registered namespaces."""
    backend = get_backend(server.backend)
    admin = backend.connect(server.host, server.port, server.admin_user, server.admin_password)
    try:
        schemas = set(backend.all_schemas(admin))
        users = {row[0] for row in backend.query(admin, "SELECT user FROM mysql.user")}
        registered: set[str] = set()
        if REGISTRY_SCHEMA in backend.all_schemas(admin, include_registry=True):
            rows = backend.query(admin, f"SELECT prefix FROM {REGISTRY_SCHEMA}.namespaces")
            registered = {row[0] for row in rows}
        return schemas, users, registered
    finally:
        admin.close()


def check_run(cwd: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    process = spawn(harness_command("check", *TARGETS, "--no-install", *args), cwd=cwd)
    try:
        out, err = process.communicate(timeout=RUN_BOUND + 30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    done = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    done.pid = process.pid  # type: ignore[attr-defined]
    return done, time.monotonic() - started


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in report["elements"]}


def outcome(item: dict[str, Any]) -> tuple[str, str | None]:
    return item["status"], item["failure"] and item["failure"]["class"]


def test_misbehaving_elements_fail_alone_and_the_run_goes_on(
    tmp_path: Path, mariadb_server: ServerInfo
) -> None:
    before = server_state(mariadb_server)
    # A relative report path: broken-state's os.chdir must not move it.
    done, elapsed = check_run(
        tmp_path, "--external", url_of(mariadb_server), "--jobs", "1", "--json", "r.json"
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert elapsed < RUN_BOUND, f"the run took {elapsed:.0f} s"
    # Element output appears only indented under its Element, never as the run's own.
    stray = [line for line in output.splitlines() if line.startswith(("Traceback", "usage:"))]
    assert stray == [], output
    assert "1 passed" not in output and "2 passed, 8 failed" in done.stdout

    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert report["summary"] == {"total": 10, "passed": 2, "failed": 8, "error": 0}
    assert [item["name"] for item in report["elements"]] == list(TARGETS)
    items = by_name(report)
    for name in GOOD:
        assert items[name]["status"] == "passed", items[name]["failure"]
        assert items[name]["output"] == []
    for name, (class_, statement) in BAD.items():
        item = items[name]
        failure = item["failure"]
        assert (item["status"], failure["class"]) == ("failed", class_), (name, failure)
        assert failure["message"] and failure["hint"], name
        assert failure["module"] == name.replace("-", "_"), failure
        if statement is not None:
            assert (failure["file"], failure["line"]) == line_of(name, statement), failure
        checks = {check["name"]: check["status"] for check in item["checks"]}
        assert checks["process"] == "failed" and checks["teardown_clean"] == "passed", checks
        assert f"FAIL  {name}:" in done.stdout

    argv = items["broken-argv"]["output"]
    assert any("usage: convert-session" in line for line in argv), argv
    assert not any("--json" in line or "--external" in line for line in argv), argv
    assert "session-poller" in items["broken-thread"]["failure"]["message"]
    state = items["broken-state"]["failure"]["message"]
    assert "working directory" in state and "display.limit" in state
    flood = items["broken-output"]["output"]
    assert flood[-1] == "broken-output: last line before SIGKILL" and len(flood) <= 20
    assert "SIGKILL" in items["broken-output"]["failure"]["message"]
    assert "SIGSEGV" in items["broken-crash"]["failure"]["message"]
    assert "during import" in items["broken-hang"]["failure"]["message"]
    assert "status 0" in items["broken-os-exit"]["failure"]["message"]

    schemas, users, registered = server_state(mariadb_server)
    assert schemas <= before[0], f"left on the server: {sorted(schemas - before[0])}"
    assert users <= before[1], f"users left: {sorted(users - before[1])}"
    assert registered <= before[2], f"still registered: {sorted(registered - before[2])}"

    # Two at a time, with a server container of its own: the same verdicts, nothing left.
    done2, _ = check_run(
        tmp_path, "--db", "mariadb", "--image", MARIADB, "--jobs", "2", "--json", "r2.json"
    )
    assert done2.returncode == 1, done2.stdout + done2.stderr
    report2 = json.loads((tmp_path / "r2.json").read_text(encoding="utf-8"))
    assert [item["name"] for item in report2["elements"]] == list(TARGETS)
    assert {n: outcome(i) for n, i in by_name(report2).items()} == {
        n: outcome(i) for n, i in items.items()
    }
    assert containers_labelled(f"{LABEL_PID}={done2.pid}") == []  # type: ignore[attr-defined]


def test_pytest_items_and_fixture_survive_an_element_that_exits(
    tmp_path: Path, mariadb_server: ServerInfo
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.harness]\n"
        'elements = ["sample-clean", "broken-exit"]\n'
        f'external = "{url_of(mariadb_server)}"\n',
        encoding="utf-8",
    )
    (tmp_path / "test_uses_fixture.py").write_text(
        "import pytest\n\n\n"
        '@pytest.mark.harness_element("broken-exit")\n'
        "def test_activates(activate_element, harness_element):\n"
        "    activate_element(harness_element)\n",
        encoding="utf-8",
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "--color=no"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "2 failed, 1 passed" in output, output
    lines = output.splitlines()
    assert any(line.startswith("PASSED ") and "harness::sample-clean[" in line for line in lines)
    assert any(line.startswith("FAILED ") and "harness::broken-exit[" in line for line in lines)
    assert "During handling" not in output, "the fixture's failure is not the Element's line"
    assert "FAILED test_uses_fixture.py::test_activates[broken-exit]" in output
    file, line = line_of("broken-exit", "sys.exit(3)")
    # Both the item and the fixture name the class and the Element's line.
    assert output.count("process_exit: broken_exit raised SystemExit(3)") >= 2, output
    assert output.count(f"({file}:{line})") >= 2, output


def test_live_progress_follows_concurrent_checks() -> None:
    """With --jobs 2, two checks run, step and finish interleaved, in any order."""
    from harness.elements.targets import resolve_target
    from harness.progress import LiveProgress
    from harness.results import ElementResult

    first, second = resolve_target("sample-clean"), resolve_target("sample-references")
    progress = LiveProgress([first.name, second.name])
    progress.start(first)
    progress.start(second)
    progress.step(second, "import")
    progress.step(first, "activate")
    assert [row[:2] for row in progress.rows.values()] == [
        ["running", "activate"],
        ["running", "import"],
    ]
    progress.finish(ElementResult(target=second.text, name=second.name))
    assert progress.rows[first.name][:2] == ["running", "activate"]
    assert progress.rows[second.name][:2] == ["passed", ""]
    assert progress._table().row_count == 2


def _send_result_and_exit(writer: Any, go: Any) -> None:
    go.wait(30)
    writer.send(("step", "teardown"))
    writer.send(("result", {"sent": True}))
    os._exit(0)


class _LateSender:
    """The parent's end of a check's pipe; the first time it is found empty, the
    check sends its result and exits before the parent looks at the process."""

    def __init__(self, reader: Any, go: Any, process: Any) -> None:
        self.reader, self.go, self.process = reader, go, process
        self.released = False

    def poll(self) -> bool:
        ready = self.reader.poll()
        if not ready and not self.released:
            self.released = True
            self.go.set()
            self.process.join(30)
        return ready

    def recv(self) -> Any:
        return self.reader.recv()


def test_a_result_sent_just_before_the_process_ends_is_not_lost() -> None:
    """The check sends its result and exits between the parent's read of the pipe
    and its look at the process: the result still counts (this once surfaced as a
    passing Element reported as ``process_exit ... during teardown``)."""
    import multiprocessing

    from harness.elements.targets import resolve_target
    from harness.isolation.supervisor import _follow, _Running

    context = multiprocessing.get_context("fork")
    reader, writer = context.Pipe(duplex=False)
    go = context.Event()
    process = context.Process(target=_send_result_and_exit, args=(writer, go))
    process.start()
    writer.close()
    child = _Running(
        0,
        resolve_target("sample-clean"),
        "prefix",
        None,
        process,
        _LateSender(reader, go, process),
        Path(os.devnull),
        limit=60.0,
    )
    try:
        assert _follow(child, None) is True
    finally:
        process.join(10)
    assert process.exitcode == 0
    assert child.data == {"sent": True}
    assert child.step == "teardown"


def test_sigterm_stops_the_check_processes_and_drops_their_namespaces(
    tmp_path: Path, mariadb_server: ServerInfo
) -> None:
    """SIGTERM to `harness check` while a check's process activates: exit 130, that
    process gone, its namespace and user dropped from the (external) server."""
    marker = tmp_path / "slow.marker"
    env = {**os.environ, "BROKEN_SLOW_MARKER": str(marker), "BROKEN_SLOW_SECONDS": "60"}
    command = harness_command(
        "check", "broken-slow", "sample-clean", "--no-install", "--jobs", "1",
        "--external", url_of(mariadb_server),
    )  # fmt: skip
    process = spawn(command, env=env, cwd=tmp_path)
    try:
        wait_for(lambda: marker.exists() and marker.read_text(encoding="utf-8"), 60, "activate")
        prefix = "_".join(marker.read_text(encoding="utf-8").split("_")[:3])
        children_file = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        children = [int(pid) for pid in children_file.read_text().split()]
        assert children, "the check is not running in a process of its own"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 130, out + err
    assert "interrupted" in err and "Traceback" not in out + err
    assert "PASS" not in out, "the run finished before the signal: the test checked nothing"
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or _zombie(pid), f"check process {pid} lives on"
    schemas, users, registered = server_state(mariadb_server)
    assert not [schema for schema in schemas if schema.startswith(prefix + "_")], schemas
    assert prefix not in users and prefix not in registered


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True
