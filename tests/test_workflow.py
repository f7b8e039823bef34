"""A lab's own pipeline module (workflow style) checked in isolation and deployed, on MySQL.

The sample (``elements/samples/workflow_sample/pipeline.py``) activates
sample-clean's ``lab``, sample-linked's ``rig`` and ``assay`` (whose linking
module is the pipeline itself, built by hand) and a table of the lab's own,
every schema named ``db_prefix + "<name>"``. Nothing is mocked: the tables
``assay`` references are the pipeline's real ones.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.activation import compat
from harness.db.backends import get_backend
from harness.errors import HarnessError
from harness.resources import source_root
from harness.runinfo import RunIdentity
from tests.conftest import MYSQL, harness_command, started_server
from tests.test_deploy import deploy

RUN = RunIdentity.new()
BACKEND = get_backend("mysql")
ROOT = source_root()
assert ROOT is not None
PIPELINE = ROOT / "elements" / "samples" / "workflow_sample" / "pipeline.py"
MAJOR = compat.major_version()
PASSWORD = "wf-Deploy-Secret3"
#: ``stem.Class`` of every table the sample pipeline declares.
TABLES = {
    "lab.Organization",
    "lab.Lab",
    "lab.Lab.Room",
    "lab.Role",
    "lab.Member",
    "lab.LabMembership",
    "lab.Equipment",
    "rig.Rig",
    "session.Session",
    "assay.Assay",
}


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with started_server("mysql", MYSQL, RUN) as info:
        yield info


@pytest.fixture(scope="module")
def admin(server: Any) -> Iterator[Any]:
    connection = BACKEND.connect(server.host, server.port, server.admin_user, server.admin_password)
    yield connection
    connection.close()


def check(text: str, server: Any) -> Any:
    """One check in this process, dispatched as ``harness check`` does (by target kind)."""
    from harness.activation.runner import CheckOptions
    from harness.elements.targets import resolve_target
    from harness.session import check_target

    return check_target(resolve_target(text), server, RUN, CheckOptions())


def checks(result: Any) -> dict[str, str]:
    return {c.name: c.status for c in result.checks}


# -- check -------------------------------------------------------------------------------


def test_sample_pipeline_is_checked_with_its_own_linking_module(server):
    custom_before = _custom()
    result = check(str(PIPELINE), server)
    assert result.status == "passed", result.checks
    assert {t.full_name for t in result.tables} == TABLES
    assert result.mocked_tables == {}
    assay = next(t for t in result.tables if t.full_name == "assay.Assay")
    # The lab's hand-built linking module: its Session and Rig, not mocks.
    assert {fk.parent for fk in assay.foreign_keys} == {"session.Session", "rig.Rig"}
    status = checks(result)
    assert status["manifest_match"] == "passed"
    assert status["reactivation_idempotent"] == "passed"
    assert status["namespace_confined"] == "passed"
    assert status["teardown_clean"] == "passed"
    assert _custom() == custom_before, "the prefix setting was not restored"


def _custom() -> Any:
    dj = compat.datajoint()
    return dj.config.get("custom") if MAJOR < 2 else None


def test_sample_pipeline_in_an_isolated_process_from_the_command_line(server, tmp_path):
    done = subprocess.run(
        harness_command(
            "check",
            str(PIPELINE),
            "--external",
            f"mysql://root:{server.admin_password}@127.0.0.1:{server.port}",
            "--jobs",
            "1",
            "--json",
            str(tmp_path / "report.json"),
        ),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS  workflow_sample.pipeline: 10 table(s) in 4 schema(s)" in done.stdout
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    (element,) = report["elements"]
    assert {c["name"]: c["status"] for c in element["checks"]}["manifest_match"] == "passed"


CLASSIC = """\
import datajoint as dj
from sample_clean import lab

if "custom" not in dj.config:
    dj.config["custom"] = {}

db_prefix = dj.config["custom"].get("database.prefix", "")

lab.activate(db_prefix + "lab")
"""
#: The same, reading the prefix the way DataJoint 2 allows too (as the sample does).
PORTABLE = CLASSIC.replace(
    """if "custom" not in dj.config:
    dj.config["custom"] = {}

db_prefix = dj.config["custom"].get("database.prefix", "")""",
    """import os

try:
    db_prefix = dj.config["custom"].get("database.prefix", "")
except KeyError:
    db_prefix = os.environ["DATABASE_PREFIX"]""",
)
assert PORTABLE != CLASSIC


def write_module(directory: Path, text: str) -> Path:
    """``workflow_mine/pipeline.py`` under ``directory``, with the sample Element it imports."""
    package = directory / "workflow_mine"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    path = package / "pipeline.py"
    path.write_text(text, encoding="utf-8")
    # The Element it imports, beside it: imported from the pipeline's own root.
    shutil.copytree(ROOT / "elements" / "samples" / "sample_clean", directory / "sample_clean")
    return path


def test_the_workflows_own_spelling_works_on_0_14_and_is_explained_on_2(server, tmp_path):
    """``dj.config["custom"]`` as the workflow repositories write it: DataJoint 2 rejects it."""
    result = check(str(write_module(tmp_path, CLASSIC)), server)
    if MAJOR < 2:
        assert result.status == "passed", result.checks
        assert {t.full_name for t in result.tables} == {t for t in TABLES if t.startswith("lab.")}
        assert checks(result)["manifest_match"] == "skipped"  # none recorded for it
        return
    assert result.failure is not None, result.checks
    assert result.failure.class_ == "unsupported_datajoint"
    assert result.failure.line == 4  # `if "custom" not in dj.config:`
    assert result.failure.file is not None and result.failure.file.endswith("pipeline.py")
    assert "DATABASE_PREFIX" in (result.failure.hint or "")
    assert checks(result)["teardown_clean"] == "passed"


def test_a_pipeline_that_ignores_the_prefix_is_confined(server, admin, tmp_path):
    text = PORTABLE.replace('db_prefix + "lab"', '"wf_fixed_lab"')
    result = check(str(write_module(tmp_path, text)), server)
    assert result.failure is not None and result.failure.class_ == "namespace_violation"
    assert BACKEND.query(admin, "SHOW DATABASES LIKE 'wf\\_fixed\\_lab'") == []


def test_a_pipeline_that_hangs_at_import_is_a_timeout(server, tmp_path):
    """In its own process (``harness check``), with --timeout: reported, the namespace dropped."""
    path = write_module(tmp_path, "import time\ntime.sleep(120)\n" + PORTABLE)
    done = subprocess.run(
        harness_command(
            "check",
            str(path),
            "--external",
            f"mysql://root:{server.admin_password}@127.0.0.1:{server.port}",
            "--timeout",
            "1",
            "--json",
            str(tmp_path / "report.json"),
        ),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    (element,) = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["elements"]
    assert element["failure"]["class"] == "timeout", element["failure"]
    assert {c["name"]: c["status"] for c in element["checks"]}["teardown_clean"] == "passed"


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("import datajoint as dj\nlab.activate(\n", "has a syntax error", 2),
        (
            "import datajoint as dj\nimport element_nowhere\n",
            "cannot be imported: ModuleNotFoundError",
            2,
        ),
    ],
)
def test_a_broken_pipeline_module_is_named_with_its_line(server, tmp_path, text, message, line):
    result = check(str(write_module(tmp_path, text)), server)
    assert result.failure is not None and result.failure.class_ == "import_error"
    assert message in result.failure.message
    assert result.failure.line == line
    assert (result.failure.file or "").endswith("workflow_mine/pipeline.py")
    assert checks(result)["teardown_clean"] == "passed"


def test_a_missing_pipeline_file_is_a_usage_error(tmp_path):
    from harness.elements.targets import resolve_target

    with pytest.raises(HarnessError, match=r"pipeline module .*nowhere\.py does not exist"):
        resolve_target(str(tmp_path / "nowhere.py"))


# -- deploy ------------------------------------------------------------------------------


def catalog(admin: Any, prefix: str) -> list[tuple[Any, ...]]:
    return BACKEND.query(
        admin,
        "SELECT table_schema, table_name, column_name, column_type FROM "
        "information_schema.columns WHERE table_schema LIKE %s ORDER BY 1, 2, 3",
        (BACKEND.like_prefix(prefix.rstrip("_")),),
    )


def created(output: str, title: str) -> set[str]:
    lines = output.splitlines()
    names: set[str] = set()
    for i, line in enumerate(lines):
        if line.strip().startswith(f"{title}:"):
            for item in lines[i + 1 :]:
                if item.startswith("        "):
                    continue
                if not item.startswith("    + "):
                    break
                names.add(item.split()[-1])
    return names


def test_sample_pipeline_is_planned_applied_once_and_drift_refused(server, admin):
    prefix = "wfd_"
    BACKEND.query(admin, "CREATE USER 'wf_dep'@'%%' IDENTIFIED BY %s", (PASSWORD,))
    BACKEND.query(admin, "GRANT ALL PRIVILEGES ON `wfd\\_%%`.* TO %s@'%%'", ("wf_dep",))
    target = f"mysql://wf_dep:{PASSWORD}@127.0.0.1:{server.port}"
    every = {f"{prefix}{name}" for name in TABLES}

    code, output = deploy(str(PIPELINE), "--target", target, "--prefix", prefix)
    assert code == 0, output
    assert catalog(admin, prefix) == [], "plan changed the server"
    assert created(output, "tables to create") == every
    assert "CREATE DATABASE `wfd_assay`" in output

    code, output = deploy(str(PIPELINE), "--target", target, "--prefix", prefix, "--apply")
    assert code == 0, output
    assert "deploy lock taken" in output
    assert "rehearsal passed: 10 table(s) created and verified on the copy" in output
    assert created(output, "created tables") == every
    assert "verified: 10 table(s) match their manifests" in output
    snapshot = catalog(admin, prefix)

    code, output = deploy(str(PIPELINE), "--target", target, "--prefix", prefix, "--apply")
    assert code == 0, output
    assert "apply: nothing to create" in output
    assert catalog(admin, prefix) == snapshot

    BACKEND.query(admin, "ALTER TABLE `wfd_session`.`session` ADD COLUMN note varchar(8) NULL")
    drifted = catalog(admin, prefix)
    code, output = deploy(str(PIPELINE), "--target", target, "--prefix", prefix, "--apply")
    assert code == 1, output
    assert "refusing to apply" in output
    assert "+ attribute wfd_session.Session.note varchar(8)" in output
    assert catalog(admin, prefix) == drifted
    assert PASSWORD not in output


def test_deploying_a_pipeline_module_without_a_manifest_is_refused(server, admin, tmp_path):
    path = write_module(tmp_path, PORTABLE)
    target = f"mysql://root:{server.admin_password}@127.0.0.1:{server.port}"
    code, output = deploy(str(path), "--target", target, "--prefix", "wfx_", "--apply")
    assert code == 2, output
    assert "no manifest for pipeline module workflow_mine.pipeline" in output
    assert "--update-manifests" in output
    assert BACKEND.query(admin, "SHOW DATABASES LIKE 'wfx\\_%%'") == []


def deploy_user(admin: Any, prefix: str) -> str:
    """A user with every privilege on ``<prefix>*`` schemas; its target URL (no password)."""
    user = f"{prefix}dep"
    BACKEND.query(admin, f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (PASSWORD,))
    BACKEND.query(
        admin, f"GRANT ALL PRIVILEGES ON `{prefix.rstrip('_')}\\_%%`.* TO %s@'%%'", (user,)
    )
    return f"mysql://{user}@127.0.0.1"


def test_pipeline_module_rehearsal_catches_a_statement_the_target_rejects(server, admin):
    """A lab's own table holds the constraint name MySQL gives ``session``'s foreign key:
    the module's import fails on the copy, and the target is never touched."""
    prefix = "wfr_"
    user = deploy_user(admin, prefix).replace("@", f":{PASSWORD}@")
    BACKEND.query(admin, "CREATE DATABASE `wfr_session`")
    BACKEND.query(admin, "CREATE TABLE `wfr_session`.`~parent` (id int PRIMARY KEY)")
    BACKEND.query(
        admin,
        "CREATE TABLE `wfr_session`.`~notes` (id int, CONSTRAINT `session_ibfk_1` "
        "FOREIGN KEY (id) REFERENCES `wfr_session`.`~parent` (id))",
    )
    before = catalog(admin, prefix)
    code, output = deploy(
        str(PIPELINE),
        "--target",
        f"{user}:{server.port}",
        "--prefix",
        prefix,
        "--apply",
    )
    assert code == 1, output
    assert "rehearsal: loaded the target's DDL of 1 schema(s), 2 table(s)" in output
    assert "rehearsal FAILED" in output
    rejected = output.split("statement the server rejected:", 1)[1]
    assert "`wfr_session`.`session`" in rejected.split("error:")[0], output
    assert "Duplicate foreign key constraint name 'session_ibfk_1'" in output
    assert "refusing to apply: nothing was changed on the target" in output
    assert "\nimporting" not in output  # the target's import never started
    assert catalog(admin, prefix) == before
    assert BACKEND.query(admin, "SHOW DATABASES LIKE 'wfr\\_%%'") == [("wfr_session",)]
    assert PASSWORD not in output


def test_two_concurrent_module_applies_create_once(server, admin, tmp_path):
    """Two ``harness deploy pipeline.py --apply`` processes released at once."""
    import os

    from tests.conftest import applies_released_together

    prefix = "wfl_"
    target = f"{deploy_user(admin, prefix)}:{server.port}"
    env = {**os.environ, "HARNESS_TARGET_PASSWORD": PASSWORD}
    command = harness_command(
        "deploy", str(PIPELINE), "--target", target, "--prefix", prefix, "--apply", "--no-rehearse"
    )

    def nothing_created() -> None:
        assert catalog(admin, prefix) == []

    holder = BACKEND.connect(server.host, server.port, server.admin_user, server.admin_password)
    try:
        lock = (BACKEND, holder)
        texts = applies_released_together(command, env, tmp_path, lock, nothing_created)
    finally:
        holder.close()
    every = {f"{prefix}{name}" for name in TABLES}
    made = [created(text, "created tables") for text in texts]
    assert sorted(made, key=len) == [set(), every], texts
    second = texts[made.index(set())]
    assert "apply: nothing to create" in second
    assert created(second, "tables to create") == set()
    assert "present and matching: 10" in second
    assert all("deploy lock taken" in text for text in texts)


def test_pipeline_module_plan_cannot_be_saved(tmp_path):
    for extra in (["--plan", "--out", str(tmp_path / "p.json")], ["--apply", "p.json"]):
        code, output = deploy(
            str(PIPELINE), "--target", "mysql://u:pw-Wf-1@127.0.0.1:1", "--prefix", "x_", *extra
        )
        assert code == 2, output
        assert "a pipeline module's plan cannot be saved" in output
        assert "cannot connect" not in output  # refused before anything is contacted
