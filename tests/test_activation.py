"""Activating Elements on a real server: samples, broken samples and the real Elements.

Every test here talks to a real MySQL 9.7 container (the local image); none
skips. Broken samples each fail with one failure class, and the message must
name the module, table or definition line at fault.
"""

from __future__ import annotations

import functools
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import MYSQL, check_in_process, harness_command, started_server

from harness.activation import compat
from harness.activation.failures import FAILURE_CLASSES, FailureClass
from harness.activation.namespace import NamespaceSession, new_prefix
from harness.activation.runner import CheckOptions, ElementCheck
from harness.db.server import ServerInfo
from harness.elements.targets import resolve_target
from harness.results import ElementResult
from harness.runinfo import RunIdentity

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "elements" / "samples"
REAL_ELEMENTS = sorted(path.stem for path in (ROOT / "elements").glob("*.toml"))
RUN = RunIdentity.new()


check = functools.partial(check_in_process, run=RUN)


@pytest.fixture(scope="module")
def mysql_server() -> Iterator[ServerInfo]:
    with started_server("mysql", MYSQL, RUN) as server:
        yield server


def checks_by_name(result: ElementResult) -> dict[str, str]:
    return {outcome.name: outcome.status for outcome in result.checks}


@pytest.mark.parametrize(
    ("sample", "schemas"),
    [
        ("sample-clean", ["lab"]),
        ("sample-multischema", ["device", "recording"]),
        ("sample-references", ["pairing"]),
        ("sample-hasattr", ["ingest"]),
    ],
)
def test_sample_activates_with_every_check_passing(
    sample: str, schemas: list[str], mysql_server: ServerInfo
) -> None:
    result = check(sample, mysql_server)
    assert result.status == "passed", result.failure and result.failure.render()
    assert result.schemas == schemas
    assert set(checks_by_name(result).values()) == {"passed"}
    assert {
        "imported",
        "activated",
        "declared_all",
        "references_resolved",
        "namespace_confined",
        "teardown_clean",
    } <= set(checks_by_name(result))


def test_sample_references_mocks_renamed_qualified_and_nullable_upstreams(
    mysql_server: ServerInfo,
) -> None:
    result = check("sample-references", mysql_server)
    assert result.status == "passed"
    mocked = result.mocked_tables
    # `.proj(father="subject")` demands a `subject` attribute of the mocked Subject.
    assert "\nsubject:" in mocked["Subject"]
    assert any(name.startswith("reference.") for name in mocked), mocked
    assert "Device" in mocked


def test_linking_functions_found_by_hasattr_are_reported(mysql_server: ServerInfo) -> None:
    result = check("sample-hasattr", mysql_server)
    assert result.status == "passed"
    assert "get_raw_root_data_dir" in result.linking_functions["required"]
    assert "get_processed_root_data_dir" in result.linking_functions["optional"]
    assert "get_session_directory" in result.mocked_functions


BROKEN = [
    # sample, failure class, text the message must contain, file, text on the line named
    (
        "broken-import",
        "import_error",
        "element_nonexistent_pkg",
        "acquisition.py",
        "element_nonexistent_pkg",
    ),
    ("broken-syntax", "import_error", "broken_syntax.session", "session.py", None),
    ("broken-reference", "unresolved_reference", "lab.Userr", "session.py", "lab.Userr"),
    ("broken-linking", "missing_linking_function", "get_raw_dir", "ingest.py", None),
    (
        "broken-declaration",
        "declaration_error",
        "ScanInfo",
        "scan.py",
        "bad attribute line without colon",
    ),
    ("broken-namespace", "namespace_violation", "harness_outside_schema_x", None, None),
    ("broken-timeout", "timeout", "did not return within 3 s", None, None),
    ("broken-server", "server_error", "broken_server", None, None),
]


@pytest.mark.parametrize(("sample", "failure_class", "text", "file", "line_text"), BROKEN)
def test_broken_sample_fails_with_its_class_and_names_the_culprit(
    sample: str,
    failure_class: str,
    text: str,
    file: str | None,
    line_text: str | None,
    mysql_server: ServerInfo,
) -> None:
    result = check(sample, mysql_server)
    assert result.failure is not None, f"{sample} passed"
    assert result.failure.class_ == failure_class, result.failure.render()
    assert text in result.failure.message
    if file is not None:
        assert result.failure.file and result.failure.file.endswith(file)
        assert result.failure.line, "the failure must name a line"
        source = Path(result.failure.file).read_text().splitlines()
        named = source[result.failure.line - 1]
        if line_text is not None:
            assert line_text in named, (result.failure.line, named)
    assert result.status in {"failed", "error"}
    assert checks_by_name(result)["teardown_clean"] == "passed"


def test_removed_datajoint_api_is_classified_on_2x_and_fine_on_014(
    mysql_server: ServerInfo,
) -> None:
    result = check("broken-unsupported", mysql_server)
    if compat.major_version() >= 2:
        assert result.failure is not None
        assert result.failure.class_ == "unsupported_datajoint"
        assert "dj.schema" in result.failure.message and result.failure.hint == "use dj.Schema"
    else:
        assert result.status == "passed"


def test_same_element_twice_in_one_process_uses_fresh_modules(mysql_server: ServerInfo) -> None:
    seen: list[Any] = []
    for _ in range(2):
        checker = ElementCheck(
            resolve_target("sample-multischema"), mysql_server, new_prefix(RUN.run_id)
        )
        with checker.activated() as activation:
            seen.append(activation.modules["sample_multischema.recording"])
        assert checker.result.status == "passed"
    assert seen[0] is not seen[1]


def test_directory_target_is_checked_like_its_spec(mysql_server: ServerInfo) -> None:
    by_directory = check(str(SAMPLES / "sample_clean"), mysql_server)
    by_spec = check("sample-clean", mysql_server)
    assert by_directory.status == by_spec.status == "passed"
    assert [t.to_dict() for t in by_directory.tables] == [t.to_dict() for t in by_spec.tables]


def test_activated_element_accepts_rows(mysql_server: ServerInfo) -> None:
    checker = ElementCheck(resolve_target("sample-clean"), mysql_server, new_prefix(RUN.run_id))
    with checker.activated() as activation:
        lab = activation.modules["sample_clean.lab"]
        rows = len(lab.Lab())
        lab.Lab.insert1({"lab": "rig1", "lab_name": "Rig one", "organization": "sample"})
        assert len(lab.Lab()) == rows + 1
    assert checker.result.status == "passed"


def test_namespace_users_cannot_see_each_other(mysql_server: ServerInfo) -> None:
    with (
        NamespaceSession.open(mysql_server, RUN) as first,
        NamespaceSession.open(mysql_server, RUN) as second,
    ):
        cursor = first.connection.cursor()
        cursor.execute(f"CREATE DATABASE `{first.schema('data')}`")
        cursor.execute(f"CREATE TABLE `{first.schema('data')}`.t (x int)")
        intruder = second.connection.cursor()
        with pytest.raises(Exception, match="denied"):
            intruder.execute(f"SELECT * FROM `{first.schema('data')}`.t")
        with pytest.raises(Exception, match="denied"):
            intruder.execute("CREATE DATABASE `outside_any_namespace`")


def test_unknown_target_is_a_configuration_error() -> None:
    from harness.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="unknown target 'element-nonexistent'"):
        resolve_target("element-nonexistent")


def test_real_elements_through_harness_check(tmp_path: Path) -> None:
    """The 12 real Elements, installed from their specs, on the local MySQL image.

    DataJoint 0.14: every one activates. DataJoint 2.x: each activates or fails
    with a precise class (never the catch-all).
    """
    report_path = tmp_path / "report.json"
    completed = subprocess.run(
        [
            *harness_command("check", *REAL_ELEMENTS, "--db", "mysql", "--image", MYSQL),
            "--json",
            str(report_path),
        ],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
        cwd=ROOT,
    )
    assert report_path.exists(), completed.stderr[-3000:]
    report = json.loads(report_path.read_text())
    results = {element["name"]: element for element in report["elements"]}
    assert sorted(results) == REAL_ELEMENTS
    assert report["environment"]["server"]["backend"] == "mysql"
    if compat.major_version() < 2:
        failed = {name: r["failure"] for name, r in results.items() if r["status"] != "passed"}
        assert not failed, failed
        assert completed.returncode == 0
        assert results["element-array-ephys"]["stubbed_imports"]
        assert results["element-session"]["mocked"]["tables"]
    else:
        for name, element in results.items():
            if element["status"] != "passed":
                failure = element["failure"]
                assert failure["class"] in FAILURE_CLASSES, name
                assert failure["class"] != FailureClass.ACTIVATION_ERROR, failure
    for element in results.values():
        assert {check["name"] for check in element["checks"]} >= {"imported", "teardown_clean"}
        assert set(element["timings"]) >= {"import_s", "teardown_s"}


def test_spec_upstream_takes_a_real_table_from_another_element(mysql_server: ServerInfo) -> None:
    result = check("sample-upstream", mysql_server)
    assert result.status == "passed", result.failure and result.failure.render()
    upstream = [a for a in result.activations if a.get("upstream")]
    assert [a["module"] for a in upstream] == ["sample_clean.lab"]
    assert "Device" not in result.mocked_tables  # the real Equipment stands in for it
    parents = {fk.parent for table in result.tables for fk in table.foreign_keys}
    assert "up_lab.Equipment" in parents
    assert result.schemas == ["pairing"]  # the upstream Element's schemas are not its own


def test_package_and_module_targets_use_the_installed_release(mysql_server: ServerInfo) -> None:
    from harness.session import check_target, prepare_targets

    prepare_targets(["element-lab", "element-session"], install=True, say=lambda text: None)
    package = check_target(resolve_target("element_lab"), mysql_server, RUN, CheckOptions())
    assert (package.name, package.version) == ("element-lab", "0.3.0")
    assert package.status == "passed"
    assert checks_by_name(package)["manifest_match"] == "passed"
    module = check_target(
        resolve_target("element_session.session_with_id"), mysql_server, RUN, CheckOptions()
    )
    if compat.major_version() >= 2:
        assert module.failure is not None and module.failure.class_ == "unsupported_datajoint"
    else:
        assert module.status == "passed", module.checks
        assert module.schemas == ["session_with_id"]  # only the module asked for
        assert checks_by_name(module)["manifest_match"] == "passed"


def test_postgresql_with_datajoint_2_and_a_clear_refusal_with_014() -> None:
    from conftest import POSTGRES

    from harness.db.provider import provide_server
    from harness.errors import ConfigurationError
    from harness.settings import Settings

    with provide_server(Settings(db="postgresql", image=POSTGRES, startup_timeout=90)) as server:
        if compat.major_version() < 2:
            with pytest.raises(ConfigurationError, match="PostgreSQL support arrived"):
                check("sample-clean", server)
            return
        from harness.session import prepare_targets

        prepare_targets(["element-lab"], install=True, say=lambda text: None)
        for target in ("sample-clean", "sample-references", "element-lab"):
            result = check(target, server)
            assert result.status == "passed", (target, result.checks)
            assert checks_by_name(result)["manifest_match"] == "passed"
        broken = check("broken-namespace", server)
        assert broken.failure is not None and broken.failure.class_ == "namespace_violation"
