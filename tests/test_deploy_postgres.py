"""``harness deploy`` onto a real PostgreSQL server (DataJoint 2.x), and its refusal under 0.14.

The sample pipeline (``elements/pipelines/samples.toml``: sample-clean, then
sample-multischema linked to its Lab) is planned against the PostgreSQL
manifests (``*.dj2.postgresql.json``), applied, applied again (nothing to do),
and refused once a column was added by hand. Every apply is rehearsed on a
throwaway PostgreSQL server first (the default).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from harness.activation import compat
from harness.db.backends import get_backend
from harness.deploy.spec import PIPELINE_DIR
from harness.runinfo import RunIdentity
from tests.conftest import POSTGRES, started_server
from tests.test_deploy import deploy

BACKEND = get_backend("postgresql")
RUN = RunIdentity.new()
PASSWORD = "pg-Deploy-Secret7"


def pipeline(directory: Path, prefix: str) -> Path:
    text = (PIPELINE_DIR / "samples.toml").read_text(encoding="utf-8")
    path = directory / f"{prefix}.toml"
    path.write_text(text.replace('"smp_', f'"{prefix}_'), encoding="utf-8")
    return path


def test_postgresql_target_under_datajoint_0_14_is_refused_before_connecting(tmp_path):
    """0.14 cannot speak to PostgreSQL: refused by name before a password is asked for;
    under 2.x the same command goes on to connect (nothing listens on port 1)."""
    code, output = deploy(
        str(pipeline(tmp_path, "x")), "--target", "postgresql://u:pw-Pg-1@127.0.0.1:1"
    )
    assert code == 2, output
    if compat.major_version() >= 2:
        assert "cannot connect to postgresql://u@127.0.0.1:1" in output
        return
    assert "cannot deploy to a postgresql server with DataJoint 0.14" in output
    assert "hint: deploy from an environment with datajoint>=2" in output


def deployer(admin: Any, name: str) -> str:
    """A role that may create schemas in the database, nothing else."""
    BACKEND.query(admin, f'CREATE ROLE "{name}" LOGIN PASSWORD %s', (PASSWORD,))
    BACKEND.query(admin, f'GRANT CREATE ON DATABASE postgres TO "{name}"')
    return name


def catalog(admin: Any, prefix: str) -> list[tuple[Any, ...]]:
    """Every column of every table under ``prefix``: the state a plan must not change."""
    return BACKEND.query(
        admin,
        "SELECT table_schema, table_name, column_name, data_type, is_nullable "
        "FROM information_schema.columns WHERE starts_with(table_schema, %s) ORDER BY 1, 2, 3",
        (prefix + "_",),
    )


def tables_under(output: str, title: str) -> list[str]:
    """The ``+ schema.Table`` lines under ``title`` (e.g. "tables to create"), sorted."""
    lines = output.splitlines()
    found = []
    for i, line in enumerate(lines):
        if line.strip().startswith(f"{title}:"):
            for item in lines[i + 1 :]:
                if item.startswith("        "):
                    continue  # a DDL line
                if not item.startswith("    + "):
                    break
                found.append(item.split()[-1])
    return sorted(found)


def test_plan_apply_noop_and_drift_on_postgresql(tmp_path):
    """Under 0.14 the refusal above is the whole story; 2.x deploys for real."""
    if compat.major_version() < 2:
        code, output = deploy(
            str(pipeline(tmp_path, "y")), "--target", "postgresql://u:pw-Pg-2@127.0.0.1:1"
        )
        assert code == 2 and "DataJoint 0.14 has no PostgreSQL" in output
        return
    with (
        started_server("postgresql", POSTGRES, RUN) as server,
        contextlib.closing(
            BACKEND.connect(server.host, server.port, server.admin_user, server.admin_password)
        ) as admin,
    ):
        deploy_on(server, admin, str(pipeline(tmp_path, "pgd")), "pgd")
        deploy_module_on(server, admin)


def deploy_module_on(server: Any, admin: Any) -> None:
    """The sample workflow-style pipeline module, against its PostgreSQL manifest."""
    from harness.resources import source_root

    root = source_root()
    assert root is not None
    module = str(root / "elements" / "samples" / "workflow_sample" / "pipeline.py")
    target = f"postgresql://deployer_pg:{PASSWORD}@{server.host}:{server.port}"
    code, output = deploy(module, "--target", target, "--prefix", "pgw_", "--apply")
    assert code == 0, output
    assert "workflow_sample.pipeline.dj2.postgresql.json" in output
    assert 'CREATE SCHEMA "pgw_assay"' in output
    assert "rehearsal passed: 10 table(s) created and verified on the copy" in output
    assert "verified: 10 table(s) match their manifests" in output
    code, output = deploy(module, "--target", target, "--prefix", "pgw_", "--apply")
    assert code == 0 and "apply: nothing to create" in output, output


def deploy_on(server: Any, admin: Any, path: str, prefix: str) -> None:
    user = deployer(admin, "deployer_pg")
    target = f"postgresql://{user}:{PASSWORD}@{server.host}:{server.port}"

    code, output = deploy(path, "--target", target)
    assert code == 0, output
    assert catalog(admin, prefix) == [], "plan changed the server"
    assert f'CREATE SCHEMA "{prefix}_lab"' in output
    assert output.count("CREATE TABLE") == 12, output
    assert "DDL not available" not in output
    planned = tables_under(output, "tables to create")
    assert f"{prefix}_lab.Lab" in planned and f"{prefix}_recording.Recording" in planned

    code, output = deploy(path, "--target", target, "--apply")
    assert code == 0, output
    assert tables_under(output, "created tables") == planned
    assert "rehearsal passed: 12 table(s) created and verified on the copy" in output
    assert "verified: 12 table(s) match their manifests" in output
    snapshot = catalog(admin, prefix)
    assert {row[0] for row in snapshot} == {
        f"{prefix}_lab",
        f"{prefix}_recording",
        f"{prefix}_device",
    }

    code, output = deploy(path, "--target", target, "--apply")
    assert code == 0, output
    assert "apply: nothing to create" in output
    assert catalog(admin, prefix) == snapshot

    BACKEND.query(
        admin, f'ALTER TABLE "{prefix}_lab"."lab" ADD COLUMN note varchar(16) NOT NULL DEFAULT \'\''
    )
    drifted = catalog(admin, prefix)
    code, output = deploy(path, "--target", target, "--apply")
    assert code == 1, output
    assert "refusing to apply" in output
    assert f"+ attribute {prefix}_lab.Lab.note" in output
    assert catalog(admin, prefix) == drifted
    assert PASSWORD not in output
