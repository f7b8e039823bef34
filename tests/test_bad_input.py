"""Bad input users will give: each is a clear message saying what is wrong and what to do.

Every case goes through the ``harness`` CLI in a subprocess, so what is tested is
what a user reads. Each asserts three things: the message names the problem, it
carries a remedy (a ``hint:`` line or, for argparse errors, the accepted values),
and no Python traceback reaches the terminal; every run has a time bound, so an
input that makes the harness hang fails instead of stalling the suite.

Cases that need a server share one MariaDB container (``mariadb_server``, given
to the CLI as ``--external``), and the broken-sample Elements are checked in a
single CLI run whose output is split per Element.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import harness_command

from harness.activation import compat
from harness.db.backends import get_backend
from harness.db.server import ServerInfo

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "elements" / "samples"
DJ014_PYTHON = ROOT / ".venvs" / "dj-0.14.10" / "bin" / "python"
#: Upper bound for one CLI run of a bad-input case (a hang fails the test).
CLI_BOUND = 60.0
VICTIM = "harness_victim_schema"


@dataclass
class Ran:
    """One finished CLI run."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    python: Path | None = None,
) -> Ran:
    """Run ``harness ARGS`` with a time bound; a hang raises TimeoutExpired (test fails)."""
    command = harness_command(*args)
    if python is not None:
        command[0] = str(python)
    started = time.monotonic()
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=CLI_BOUND,
    )
    return Ran(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def assert_explained(ran: Ran, what: list[str], remedy: list[str], exit_code: int = 2) -> None:
    """The run failed with ``exit_code``, said ``what`` and ``remedy``, and showed no traceback."""
    assert ran.returncode == exit_code, ran.text
    for fragment in what:
        assert fragment in ran.text, f"{fragment!r} missing from:\n{ran.text}"
    for fragment in remedy:
        assert fragment in ran.text, f"remedy {fragment!r} missing from:\n{ran.text}"
    assert "Traceback" not in ran.text, ran.text
    assert ran.seconds < CLI_BOUND


def external_url(server: ServerInfo, password: str | None = None) -> str:
    """``mysql://root:PW@127.0.0.1:PORT`` for the shared server (MariaDB speaks mysql://)."""
    secret = server.admin_password if password is None else password
    return f"mysql://{server.admin_user}:{secret}@{server.host}:{server.port}"


def admin_query(server: ServerInfo, sql: str) -> list[tuple[Any, ...]]:
    backend = get_backend(server.backend)
    connection = backend.connect(server.host, server.port, server.admin_user, server.admin_password)
    try:
        return list(backend.query(connection, sql))
    finally:
        connection.close()


# --- without a server: options, targets, spec files, pyproject, manifests ------------------

Setup = Callable[[Path], list[str]]


def _spec(name: str, text: str | bytes) -> Setup:
    """A spec file ``name`` in the test's directory; the CLI gets its path."""

    def setup(directory: Path) -> list[str]:
        path = directory / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return ["check", str(path)]

    return setup


def _pyproject(table: str) -> Setup:
    def setup(directory: Path) -> list[str]:
        (directory / "pyproject.toml").write_text(table, encoding="utf-8")
        return ["check", "sample-clean", "--no-install"]

    return setup


def _args(*args: str) -> Setup:
    return lambda directory: list(args)


def _empty_directory(directory: Path) -> list[str]:
    (directory / "nothing_here").mkdir()
    (directory / "nothing_here" / "README").write_text("no package\n", encoding="utf-8")
    return ["check", str(directory / "nothing_here")]


def _manifest_pair(mutate: Callable[[dict[str, Any]], Any]) -> Setup:
    """``harness diff`` of sample-clean's manifest against a copy changed by ``mutate``."""

    def setup(directory: Path) -> list[str]:
        original = ROOT / "elements" / "manifests" / "sample-clean.dj0.json"
        data = json.loads(original.read_text(encoding="utf-8"))
        mutate(data)
        changed = directory / "changed.json"
        changed.write_text(json.dumps(data), encoding="utf-8")
        return ["diff", str(original), str(changed)]

    return setup


def _retype(data: dict[str, Any]) -> None:
    equipment = next(table for table in data["tables"] if table["name"] == "Equipment")
    equipment["attributes"][0]["type"] = "bigint"


def _break_tables(data: dict[str, Any]) -> None:
    data["tables"] = 3


def _not_a_manifest(directory: Path) -> list[str]:
    path = directory / "notes.json"
    path.write_text('{"tables_of_contents": []}', encoding="utf-8")
    return ["diff", str(path), str(path)]


def _not_json(directory: Path) -> list[str]:
    path = directory / "notes.txt"
    path.write_text("just some notes\n", encoding="utf-8")
    return ["diff", str(path), str(path)]


#: id -> (setup, exit status, what is wrong, what to do, extra environment)
OFFLINE_CASES: dict[str, tuple[Setup, int, list[str], list[str], dict[str, str]]] = {
    "unknown-target": (
        _args("check", "element-nonexistent"),
        2,
        ["unknown target 'element-nonexistent'"],
        ["hint:", "harness check --list"],
        {},
    ),
    "empty-target-list": (
        _args("check"),
        2,
        ["no target given"],
        ["hint:", "harness check --list"],
        {},
    ),
    "directory-without-package": (
        _empty_directory,
        2,
        ["cannot tell which package", "packages found: none"],
        ["hint: give the package directory itself"],
        {},
    ),
    "spec-unknown-key": (
        _spec("typo.toml", 'name = "typo"\npackage = "sample_clean"\nstub = ["cv2"]\n'),
        2,
        ["typo.toml:3", "key 'stub': unknown key"],
        ["hint:", "known keys"],
        {},
    ),
    "spec-wrong-type": (
        _spec("slowish.toml", 'name = "slowish"\npackage = "p"\n[check]\ntimeout = "fast"\n'),
        2,
        ["slowish.toml:4", "key 'check.timeout': expected a number, got a string"],
        ["hint: check.timeout holds"],
        {},
    ),
    "spec-name-differs-from-file": (
        _spec("alpha.toml", 'name = "beta"\npackage = "p"\n'),
        2,
        ["'beta' differs from the file name 'alpha.toml'"],
        ["hint: rename the file"],
        {},
    ),
    "spec-missing-file": (
        _args("check", "no/such/spec.toml"),
        2,
        ["spec file no/such/spec.toml does not exist"],
        ["hint: check the path", "harness check --list"],
        {},
    ),
    "spec-not-utf8": (
        _spec("latin.toml", b'name = "latin"\ndescription = "caf\xe9"\n'),
        2,
        ["latin.toml:2", "not valid UTF-8"],
        ["hint: save the file as UTF-8"],
        {},
    ),
    "spec-binary": (
        _spec("binary.toml", b"\x7fELF\x02\x01\x01\x00\x00\x00" * 8),
        2,
        ["binary content (NUL byte)"],
        ["hint: a spec is a UTF-8 TOML text file"],
        {},
    ),
    "spec-invalid-toml": (
        _spec("broken.toml", 'name = "broken\npackage = "p"\n'),
        2,
        ["broken.toml:1", "invalid TOML"],
        ["hint: check quotes, brackets"],
        {},
    ),
    "unknown-backend": (
        _args("check", "sample-clean", "--db", "oracle"),
        2,
        ["argument --db: unknown backend 'oracle'"],
        ["known backends: mariadb, mysql, postgresql"],
        {},
    ),
    "zero-timeout": (
        _args("check", "sample-clean", "--timeout", "0"),
        2,
        ["argument --timeout", "got '0'"],
        ["expected a positive number of seconds"],
        {},
    ),
    "negative-timeout": (
        _args("check", "sample-clean", "--timeout", "-5"),
        2,
        ["argument --timeout", "got '-5'"],
        ["expected a positive number of seconds"],
        {},
    ),
    "infinite-timeout": (
        _args("check", "sample-clean", "--timeout", "inf"),
        2,
        ["argument --timeout", "got 'inf'"],
        ["expected a positive number of seconds"],
        {},
    ),
    "startup-timeout-not-a-number": (
        _args("check", "sample-clean", "--startup-timeout", "abc"),
        2,
        ["argument --startup-timeout", "got 'abc'"],
        ["expected a positive number of seconds"],
        {},
    ),
    "environment-timeout-not-a-number": (
        _args("check", "sample-clean"),
        2,
        ["environment variable HARNESS_TIMEOUT", "got 'soon'"],
        ["expected a positive number of seconds", "hint:"],
        {"HARNESS_TIMEOUT": "soon"},
    ),
    "pyproject-unknown-key": (
        _pyproject("[tool.harness]\ndatabase = 'mysql'\n"),
        2,
        ["pyproject.toml [tool.harness]: unknown key 'database'"],
        ["hint: known keys: data, data_seed, db,"],
        {},
    ),
    "pyproject-wrong-type": (
        _pyproject("[tool.harness]\ntimeout = 'long'\n"),
        2,
        ["key 'timeout' must be a float, got str 'long'"],
        ["hint: timeout:"],
        {},
    ),
    "pyproject-invalid-toml": (
        _pyproject("[tool.harness\ndb = 'mysql'\n"),
        2,
        ["pyproject.toml: not valid TOML"],
        ["hint: fix the file's syntax"],
        {},
    ),
    "image-does-not-exist": (
        _args("check", "sample-clean", "--db", "mariadb", "--image", "element-harness/nope:1"),
        2,
        ["image 'element-harness/nope:1' is not present locally and could not be pulled"],
        ["hint:", "harness images ensure", "--image"],
        {},
    ),
    "malformed-external-url": (
        _args("check", "sample-clean", "--external", "mysql://root:Sekr1tPw@db:port"),
        2,
        ["malformed external server URL mysql://root:***@db:port"],
        ["hint: expected e.g. mysql://user:password@host:3306"],
        {},
    ),
    "external-url-unknown-scheme": (
        _args("check", "sample-clean", "--external", "oracle://root:Sekr1tPw@db:1521"),
        2,
        ["unknown scheme 'oracle'"],
        ["hint: use one of:"],
        {},
    ),
    "unreachable-host": (
        _args(
            "check",
            "sample-clean",
            "--external",
            "mysql://root:Sekr1tPw@127.0.0.1:1",
            "--startup-timeout",
            "1",
        ),
        2,
        ["external server mysql://root@127.0.0.1:1", "did not accept SQL within 1 s"],
        ["hint: check host, port, user and password"],
        {},
    ),
    "diff-mismatched-manifest": (
        _manifest_pair(_retype),
        1,
        ["~ type lab.Equipment.equipment varchar(32) -> bigint"],
        [],  # a diff is the answer, not an error: exit 1 and the change shown
        {},
    ),
    "diff-malformed-manifest": (
        _manifest_pair(_break_tables),
        2,
        ["is a malformed manifest: 'tables' must be a list, got int"],
        ["hint: regenerate it with --update-manifests"],
        {},
    ),
    "diff-not-a-manifest": (
        _not_a_manifest,
        2,
        ["is neither a manifest nor a JSON report"],
        ["hint: give files written by --update-manifests or --json"],
        {},
    ),
    "diff-not-json": (
        _not_json,
        2,
        ["notes.txt is neither a manifest nor a JSON report"],
        ["hint: give files written by --update-manifests or --json"],
        {},
    ),
    "diff-missing-file": (
        _args("diff", "no-such-manifest.json", "other.json"),
        2,
        ["no-such-manifest.json does not exist"],
        ["hint: give files written by"],
        {},
    ),
}


@pytest.mark.parametrize("case", sorted(OFFLINE_CASES))
def test_bad_input_without_a_server_is_explained(case: str, tmp_path: Path) -> None:
    setup, exit_code, what, remedy, env = OFFLINE_CASES[case]
    ran = run_cli(*setup(tmp_path), cwd=tmp_path, env=env)
    assert_explained(ran, what, remedy, exit_code)
    assert "Sekr1tPw" not in ran.text
    if exit_code == 2 and not ran.stderr.startswith("usage:"):
        # One message, not a cascade.
        assert ran.stderr.count("harness: error:") == 1, ran.stderr


def test_postgresql_with_datajoint_014_is_refused_before_any_server(tmp_path: Path) -> None:
    ran = run_cli("check", "sample-clean", "--db", "postgresql", cwd=tmp_path, python=DJ014_PYTHON)
    assert_explained(
        ran,
        ["DataJoint 0.14.10 cannot use a postgresql server"],
        ["hint: use --db mysql or --db mariadb, or install datajoint>=2"],
    )
    assert ran.seconds < 15, "refused only after starting a server?"


# --- with a server: Elements that are broken in the ways users meet -------------------------


def _write_raising_element(directory: Path) -> Path:
    """A source tree whose only module raises at import (a config lookup gone wrong)."""
    package = directory / "raiser_src" / "element_raiser"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "probe.py").write_text(
        "import datajoint as dj\n\n"
        "schema = dj.Schema()\n"
        "ROOT = {}['raw_root_dir']  # the module reads configuration at import\n\n\n"
        "def activate(schema_name, *, create_schema=True, create_tables=True):\n"
        "    schema.activate(schema_name)\n",
        encoding="utf-8",
    )
    return package.parent


def _write_long_stem_spec(directory: Path) -> Path:
    """A spec for sample-clean whose [[activate]] gives a 70-character schema stem."""
    specs = directory / "long"
    specs.mkdir()
    (specs / "sample_clean").symlink_to(SAMPLES / "sample_clean")
    path = specs / "long-stem.toml"
    path.write_text(
        'name = "long-stem"\npackage = "sample_clean"\n\n[[activate]]\n'
        f'module = "sample_clean.lab"\n\n[activate.args]\nschema_name = "{"s" * 70}"\n',
        encoding="utf-8",
    )
    return path


def _write_drifted_manifest_spec(directory: Path) -> Path:
    """sample-clean under a spec whose committed manifest no longer matches the Element."""
    elements = directory / "elements"
    (elements / "manifests").mkdir(parents=True)
    (elements / "sample_clean").symlink_to(SAMPLES / "sample_clean")
    path = elements / "sample-clean.toml"
    path.write_text('name = "sample-clean"\npackage = "sample_clean"\n', encoding="utf-8")
    major = compat.major_version()
    original = ROOT / "elements" / "manifests" / f"sample-clean.dj{major}.json"
    data = json.loads(original.read_text(encoding="utf-8"))
    _retype(data)
    (elements / "manifests" / original.name).write_text(json.dumps(data), encoding="utf-8")
    return path


@dataclass
class BatchRun:
    """The broken Elements checked in one CLI run, output split per Element."""

    ran: Ran
    blocks: dict[str, str]
    report: dict[str, Any]
    victim_survived: bool


def _blocks(stdout: str) -> dict[str, str]:
    """``FAIL  name: ...`` plus its indented lines, by Element name."""
    blocks: dict[str, str] = {}
    name = None
    for line in stdout.splitlines():
        if line.startswith(("PASS ", "FAIL ", "ERROR ")):
            name = line.split()[1].rstrip(":")
            blocks[name] = line
        elif line.startswith(" ") and name is not None:
            blocks[name] += "\n" + line
    return blocks


@pytest.fixture(scope="module")
def batch(mariadb_server: ServerInfo, tmp_path_factory: pytest.TempPathFactory) -> BatchRun:
    """Every server-side bad input checked in one ``harness check`` run."""
    directory = tmp_path_factory.mktemp("bad-elements")
    targets = [
        "broken-import",
        "broken-syntax",
        str(_write_raising_element(directory)),
        "broken-reference",
        "broken-linking",
        "broken-declaration",
        "broken-namespace",
        "broken-schema-drop",
        str(_write_long_stem_spec(directory)),
        str(_write_drifted_manifest_spec(directory)),
    ]
    admin_query(mariadb_server, f"CREATE DATABASE IF NOT EXISTS {VICTIM}")
    try:
        report_path = directory / "report.json"
        ran = run_cli(
            "check",
            *targets,
            "--no-install",
            "--external",
            external_url(mariadb_server),
            "--json",
            str(report_path),
            cwd=directory,
        )
        survived = (VICTIM,) in admin_query(mariadb_server, "SHOW DATABASES")
    finally:
        admin_query(mariadb_server, f"DROP DATABASE IF EXISTS {VICTIM}")
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else {}
    return BatchRun(ran, _blocks(ran.stdout), report, survived)


#: Element name -> (failure class, what is wrong, what to do)
ELEMENT_CASES: dict[str, tuple[str, list[str], list[str]]] = {
    "broken-import": (
        "import_error",
        ["No module named 'element_nonexistent_pkg'", "acquisition.py:4"],
        ["hint: install 'element_nonexistent_pkg'", "--stub-missing"],
    ),
    "broken-syntax": (
        "import_error",
        ["broken_syntax.session has a syntax error", "session.py:17"],
        ["hint: fix the syntax error"],
    ),
    "element_raiser": (
        "import_error",
        ["element_raiser.probe raised at import: KeyError: 'raw_root_dir'", "probe.py:4"],
        ["hint: fix the code that runs at import"],
    ),
    "broken-reference": (
        "unresolved_reference",
        ["reference 'lab.Userr' cannot resolve", "session.py:45"],
        ["hint: fix the reference or define the table it names"],
    ),
    "broken-linking": (
        "missing_linking_function",
        ["the linking module lacks what activate() needs: 'get_raw_dir'"],
        ["hint: name the function in the spec's [mock].functions"],
    ),
    "broken-declaration": (
        "declaration_error",
        ["broken_declaration.scan.ScanInfo", "scan.py:"],
        ["hint: fix the table definition at the line shown"],
    ),
    "broken-namespace": (
        "namespace_violation",
        ["tried to use schema 'harness_outside_schema_x' outside its namespace"],
        ["hint: derive every schema name from the activate() arguments"],
    ),
    "broken-schema-drop": (
        "namespace_violation",
        [f"tried to use schema '{VICTIM}' outside its namespace", "cleanup.py:14"],
        ["hint: derive every schema name from the activate() arguments"],
    ),
    "long-stem": (
        "activation_error",
        ["schema name 'eh_", "characters) is longer than mariadb allows (64)"],
        ["hint: give a shorter stem in the spec"],
    ),
}


@pytest.mark.parametrize("name", sorted(ELEMENT_CASES))
def test_broken_element_is_explained(name: str, batch: BatchRun) -> None:
    failure_class, what, remedy = ELEMENT_CASES[name]
    assert name in batch.blocks, batch.ran.text
    block = batch.blocks[name]
    assert block.startswith("FAIL "), block
    assert f"{failure_class}: " in block, block
    for fragment in what + remedy:
        assert fragment in block, f"{fragment!r} missing from:\n{block}"
    element = next(e for e in batch.report["elements"] if e["name"] == name)
    assert element["failure"]["class"] == failure_class
    assert element["failure"]["hint"], "every failure carries a hint"
    assert {c["name"]: c["status"] for c in element["checks"]}["teardown_clean"] == "passed"


def test_drifted_manifest_shows_the_diff_and_what_to_do(batch: BatchRun) -> None:
    block = batch.blocks["sample-clean"]
    assert block.startswith("FAIL "), block
    assert "check manifest_match failed: differs from" in block
    assert "~ type lab.Equipment.equipment bigint -> varchar(32)" in block
    assert "hint: if the change is intended, run with --update-manifests" in block


def test_batch_of_bad_elements_ends_cleanly(batch: BatchRun) -> None:
    """One failing Element never stops the next; no traceback; the victim schema survives."""
    assert batch.ran.returncode == 1, batch.ran.text
    assert "Traceback" not in batch.ran.text
    assert len(batch.report["elements"]) == 10
    assert batch.ran.stdout.rstrip().endswith("0 passed, 10 failed")
    assert batch.victim_survived, "an Element outside its namespace dropped another schema"
    assert batch.ran.seconds < 45


def test_wrong_password_is_refused_and_never_echoed(mariadb_server: ServerInfo) -> None:
    wrong = "WrongPw7x9Q2"
    ran = run_cli(
        "check",
        "sample-clean",
        "--external",
        external_url(mariadb_server, wrong),
        "--startup-timeout",
        "2",
    )
    assert_explained(
        ran,
        [f"external server mysql://root@127.0.0.1:{mariadb_server.port}", "Access denied"],
        ["hint: check host, port, user and password"],
    )
    assert wrong not in ran.text
    assert mariadb_server.admin_password not in ran.text


def test_unwritable_report_path_is_explained(mariadb_server: ServerInfo, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way\n", encoding="utf-8")
    ran = run_cli(
        "check",
        "sample-clean",
        "-q",
        "--external",
        external_url(mariadb_server),
        "--json",
        str(blocker / "report.json"),
        cwd=tmp_path,
    )
    assert_explained(
        ran,
        [f"cannot write the report to {blocker / 'report.json'}"],
        ["hint: choose a path in a writable directory"],
    )


def test_at_least_25_bad_inputs_are_covered() -> None:
    # + PostgreSQL under 0.14, drifted manifest, wrong password, unwritable report path
    assert len(OFFLINE_CASES) + len(ELEMENT_CASES) + 4 >= 25


def test_closed_output_pipe_ends_quietly_and_never_with_success() -> None:
    """`harness check --list | head`: no traceback, and the status of a cut-off tool."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line is written
    try:
        done = subprocess.run(
            harness_command("check", "--list"),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 141, done.stderr
    assert "Traceback" not in done.stderr
