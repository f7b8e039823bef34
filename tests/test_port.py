"""``harness port``: DataJoint 2 incompatibilities found statically, fixed by ``--write``.

``elements/samples/sample_port`` uses every construct the rules know: its
``acquisition`` module (activated) what ``--write`` replaces, its ``export``
module (never imported by a check) what stays manual. The findings must name
exactly their file and line; ``--write`` must print the diff, change only the
characters at fault, change nothing the second time, and leave a copy that
activates under DataJoint 2 on real MySQL and PostgreSQL servers. Under 0.14 the
same tests prove the static part, that the rewrite is valid Python, and that the
unported sample works there.
"""

from __future__ import annotations

import ast
import compileall
import functools
import importlib.util
import json
import shutil
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import MARIADB, MYSQL, POSTGRES, check_in_process, harness_command, started_server

from harness.activation import compat
from harness.port.fix import write_fixes
from harness.port.scan import scan_package
from harness.runinfo import RunIdentity

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "elements" / "samples"
SAMPLE = SAMPLES / "sample_port"
RUN = RunIdentity.new()
TIMEOUT = 600

check = functools.partial(check_in_process, run=RUN)

#: (rule, file, line) of every finding in sample_port, as written in the sample.
EXPECTED = [
    (
        "removed-name",
        "sample_port/acquisition.py",
        4,
    ),  # from datajoint import create_virtual_module
    ("removed-name", "sample_port/acquisition.py", 6),  # dj.schema()
    ("type-boolean", "sample_port/acquisition.py", 19),
    ("type-attach", "sample_port/acquisition.py", 20),
    ("type-enum-quotes", "sample_port/acquisition.py", 21),
    ("type-mysql-only", "sample_port/acquisition.py", 22),  # tinyint
    ("type-mysql-only", "sample_port/acquisition.py", 23),  # double
    ("type-native-blob", "sample_port/acquisition.py", 33),  # longblob
    ("type-native-blob", "sample_port/acquisition.py", 34),  # blob
    ("type-native-blob", "sample_port/acquisition.py", 43),  # mediumblob
    ("config-obsolete-key", "sample_port/acquisition.py", 53),
    ("fetch-deprecated", "sample_port/acquisition.py", 59),
    ("fetch-deprecated", "sample_port/acquisition.py", 60),
    ("fetch-deprecated", "sample_port/acquisition.py", 61),
    ("fetch-deprecated", "sample_port/acquisition.py", 62),
    ("fetch-deprecated", "sample_port/acquisition.py", 63),
    ("removed-name", "sample_port/acquisition.py", 68),  # dj.ERD
    ("removed-name", "sample_port/acquisition.py", 72),  # dj.create_virtual_module
    ("drop-force", "sample_port/acquisition.py", 76),
    ("removed-method", "sample_port/acquisition.py", 80),  # spawn_missing_classes(context=)
    ("config-custom", "sample_port/export.py", 7),
    ("config-custom", "sample_port/export.py", 8),
    ("computed-new-key", "sample_port/export.py", 14),
    ("type-mysql-only", "sample_port/export.py", 17),  # smallint unsigned
    ("config-method", "sample_port/export.py", 22),
    ("removed-name", "sample_port/export.py", 26),  # dj.kill
    ("fetch-argument", "sample_port/export.py", 30),
    ("drop-force", "sample_port/export.py", 34),  # force=confirm: not a constant
    ("config-membership", "sample_port/export.py", 38),
    ("removed-method", "sample_port/export.py", 42),  # size_on_disk
]
MANUAL = [entry for entry in EXPECTED if entry[1].endswith("export.py")]


def _port(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        harness_command("port", *args),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def _copy_sample(destination: Path) -> Path:
    """The sample and its spec in ``destination``; the spec imports the copy."""
    shutil.copytree(
        SAMPLE, destination / "sample_port", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(SAMPLES / "sample-port.toml", destination / "sample-port.toml")
    return destination / "sample-port.toml"


def _sources(directory: Path) -> dict[str, bytes]:
    return {
        path.relative_to(directory.parent).as_posix(): path.read_bytes()
        for path in sorted(directory.glob("*.py"))
    }


# --------------------------------------------------------------------------- static


def test_every_construct_is_found_at_its_file_and_line() -> None:
    scan = scan_package(SAMPLE)
    found = [(f.rule_id, f.file, f.line) for f in scan.findings]
    assert found == EXPECTED
    assert scan.files == [
        "sample_port/__init__.py",
        "sample_port/acquisition.py",
        "sample_port/export.py",
    ]
    for finding in scan.findings:  # the line named is the line that holds the construct
        line = (SAMPLE.parent / finding.file).read_text().splitlines()[finding.line - 1]
        assert finding.code.split("(")[0].split("[")[0].split(":")[0].strip() in line
        assert finding.rule.on_2x and finding.replacement
    mechanical = {(f.rule_id, f.file, f.line) for f in scan.findings if f.mechanical}
    assert mechanical == set(EXPECTED) - set(MANUAL)


def test_findings_say_what_happens_on_2x_and_the_replacement() -> None:
    by_line = {(f.file, f.line): f for f in scan_package(SAMPLE).findings}
    boolean = by_line[("sample_port/acquisition.py", 19)]
    assert boolean.table == "Rig"
    assert "Unsupported attribute type boolean" in boolean.rule.on_2x
    assert boolean.replacement == "active: bool # in use"
    blob = by_line[("sample_port/acquisition.py", 33)]
    assert blob.rule.severity == "changed" and blob.replacement == "trace: <blob> # samples"
    assert by_line[("sample_port/acquisition.py", 6)].replacement.startswith("dj.Schema")
    assert by_line[("sample_port/acquisition.py", 76)].replacement == "schema.drop(prompt=False)"
    spawn = by_line[("sample_port/acquisition.py", 80)]
    assert spawn.replacement == "schema.make_classes(into=context)"
    assert by_line[("sample_port/acquisition.py", 60)].replacement == "to_dicts()"
    assert by_line[("sample_port/acquisition.py", 59)].replacement == "keys()"
    assert by_line[("sample_port/acquisition.py", 21)].replacement == "grade: enum('good', 'poor')"
    assert by_line[("sample_port/acquisition.py", 22)].replacement == "channels: int8"
    unsigned = by_line[("sample_port/export.py", 17)]
    assert not unsigned.mechanical and unsigned.replacement.startswith("int32")
    assert "PostgreSQL" in unsigned.rule.on_2x
    key = by_line[("sample_port/export.py", 14)]
    assert key.table == "Summary" and "non-FK primary key" in key.rule.on_2x
    assert "allow_new_pk_fields_in_computed_tables" in key.replacement
    assert key.rule.severity == "deprecated" and "not enforced in 2.3.5" in key.rule.on_2x
    assert "Setting 'custom' not found" in by_line[("sample_port/export.py", 7)].rule.on_2x


def _package(tmp_path: Path, **modules: str) -> Path:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, text in modules.items():
        (package / f"{name}.py").write_text(textwrap.dedent(text))
    return package


def test_write_keeps_formatting_and_handles_argument_lists(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        tables='''\
        import datajoint as dj
        from datajoint import schema as make_schema, ERD

        schema = make_schema()  # already aliased: only the import changes


        @schema
        class Plain(dj.Manual):
            definition = """
            id: int
            ---
            flag = 1 : boolean   # aligned
            note: varchar(8)     # kept as written
            file=null : attach@store
            data : blob@store
            """


        class Escaped(dj.Manual):
            definition = "id: int\\n---\\nflag: boolean"


        def rows(q):
            a = q.fetch(
                "KEY",
                order_by="id",
            )
            b = q.fetch(order_by="id", as_dict=True,)
            c = q.fetch("x", "y", format="array", limit=3)
            d = q.fetch(as_dict=True, format="frame")
            return a, b, c, d, ERD
        ''',
    )
    before = scan_package(package)
    escaped = [f for f in before.findings if f.table == "Escaped"]
    assert [(f.rule_id, f.line, f.mechanical) for f in escaped] == [("type-boolean", 20, False)]
    result = write_fixes(package, scan_package)
    text = (package / "tables.py").read_text()
    assert "from datajoint import Schema as make_schema, Diagram as ERD" in text
    assert "    flag = 1 : bool      # aligned\n" in text
    assert "    note: varchar(8)     # kept as written\n" in text
    assert "    file=null : <attach@store>\n" in text
    assert "    data : <blob@store>\n" in text
    assert 'a = q.keys(\n        order_by="id",\n    )' in text
    assert 'b = q.to_dicts(order_by="id",)' in text
    assert 'c = q.to_arrays("x", "y", limit=3)' in text
    assert 'd = q.fetch(as_dict=True, format="frame")' in text  # no 2.x equivalent: manual
    ast.parse(text)
    assert result.changed == ["pkg/tables.py"]
    left = [(f.rule_id, f.line) for f in result.after.findings]
    assert left == [("type-boolean", 20), ("fetch-deprecated", 29)]  # "KEY"'s line went
    again = write_fixes(package, scan_package)
    assert again.changed == [] and again.diff == "" and again.applied == 0


def test_nested_replacements_settle_in_further_passes(tmp_path: Path) -> None:
    package = _package(
        tmp_path,
        nested="""\
        import datajoint as dj

        keys = (dj.ERD(dj.schema("x")) & "a").fetch(order_by=dj.ERD.x, as_dict=True)
        dj.config["enable_python_native_blobs"] = True
        dj.config["database.prefix"] = "lab_"
        """,
    )
    result = write_fixes(package, scan_package)
    text = (package / "nested.py").read_text()
    assert text == (
        "import datajoint as dj\n\n"
        'keys = (dj.Diagram(dj.Schema("x")) & "a").to_dicts(order_by=dj.Diagram.x)\n'
        'dj.config["database.prefix"] = "lab_"\n'
    )
    assert result.applied == 5  # ERD, schema, fetch, the statement; then the inner ERD
    assert result.after is not None
    left = [(f.rule_id, f.line, f.mechanical) for f in result.after.findings]
    assert left == [("config-unknown-key", 4, False)]  # 2.x has no such key: manual


def test_crlf_files_and_unreadable_modules(tmp_path: Path) -> None:
    package = _package(tmp_path, broken="def f(:\n")
    crlf = [
        b"import datajoint as dj",
        b"schema = dj.schema()",
        b"class T(dj.Manual):",
        b'    definition = """',
        b"    id: int",
        b"    ---",
        b"    data: longblob  # arrays",
        b"    n: tinyint",
        b'    """',
        b"",
    ]
    (package / "crlf.py").write_bytes(b"\r\n".join(crlf))
    scan = scan_package(package)
    assert scan.unreadable and scan.unreadable[0].startswith("pkg/broken.py:1: SyntaxError")
    assert [(f.rule_id, f.line) for f in scan.findings] == [
        ("removed-name", 2),
        ("type-native-blob", 7),
        ("type-mysql-only", 8),
    ]
    write_fixes(package, scan_package)
    crlf[1], crlf[6], crlf[7] = (
        b"schema = dj.Schema()",
        b"    data: <blob>    # arrays",
        b"    n: int8",
    )
    assert (package / "crlf.py").read_bytes() == b"\r\n".join(crlf)


def test_cli_exit_statuses_and_json(tmp_path: Path) -> None:
    found = _port(str(SAMPLE), "--no-check", "--json", str(tmp_path / "port.json"), cwd=tmp_path)
    assert found.returncode == 1, found.stderr
    assert "sample_port/acquisition.py:19:13: [type-boolean, error] (Rig)" in found.stdout
    report = json.loads((tmp_path / "port.json").read_text())
    assert report["format"] == 1 and report["clean"] is False and report["written"] is False
    assert report["summary"] == {
        "total": 30,
        "mechanical": 20,
        "manual": 10,
        "by_rule": {
            "computed-new-key": 1,
            "config-custom": 2,
            "config-membership": 1,
            "config-method": 1,
            "config-obsolete-key": 1,
            "drop-force": 2,
            "fetch-argument": 1,
            "fetch-deprecated": 5,
            "removed-method": 2,
            "removed-name": 5,
            "type-attach": 1,
            "type-boolean": 1,
            "type-enum-quotes": 1,
            "type-mysql-only": 3,
            "type-native-blob": 3,
        },
    }
    first = report["findings"][0]
    assert set(first) == {
        "rule", "severity", "file", "line", "column", "table", "code", "on_2x",
        "replacement", "mechanical",
    }  # fmt: skip
    assert report["check"] is None and report["check_note"] == "--no-check"

    clean = _port(str(SAMPLES / "sample_clean"), "--no-check", cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "no DataJoint 2 incompatibility in the source" in clean.stdout

    unknown = _port("no-such-element-anywhere", "--no-check", cwd=tmp_path)
    assert unknown.returncode == 2 and "unknown target" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    installed = _port("datajoint", "--write", "--no-check", cwd=tmp_path)
    assert installed.returncode == 2
    assert "refusing to write into" in installed.stderr and "site-packages" in installed.stderr
    assert "hint: port a copy you own" in installed.stderr


def test_write_prints_the_diff_and_is_idempotent(tmp_path: Path) -> None:
    _copy_sample(tmp_path)
    copy = tmp_path / "sample_port"
    original = _sources(copy)
    compileall.compile_dir(copy, quiet=1)  # as pip leaves an installed package
    stale = Path(importlib.util.cache_from_source(str(copy / "acquisition.py")))
    assert stale.exists()
    first = _port(str(copy), "--write", "--no-check", cwd=tmp_path)
    assert not stale.exists()  # a same-size rewrite in the same second would import it
    assert Path(importlib.util.cache_from_source(str(copy / "export.py"))).exists()
    assert first.returncode == 1, first.stderr  # export.py's manual findings remain
    diff = first.stdout
    assert diff.startswith("--- a/sample_port/acquisition.py\n+++ b/sample_port/acquisition.py\n")
    removed = [line[1:] for line in diff.splitlines() if line.startswith("-") and line[:3] != "---"]
    added = [line[1:] for line in diff.splitlines() if line.startswith("+") and line[:3] != "+++"]
    assert "    active: boolean        # in use" in removed
    assert "    active: bool           # in use" in added
    assert "    trace: <blob>          # samples" in added
    assert "    schema.drop(prompt=False)" in added
    assert '    dj.config["enable_python_native_blobs"] = True' in removed
    assert "    rows = Recording.to_dicts()" in added
    # Only the lines of mechanical findings changed (one per finding, the line deleted too).
    lines = sorted({line for rule, file, line in EXPECTED if (rule, file, line) not in MANUAL})
    source_lines = original["sample_port/acquisition.py"].decode().splitlines()
    assert sorted(removed) == sorted(source_lines[line - 1] for line in lines)
    assert "wrote 20 replacement(s) in 1 file(s)" in first.stdout
    assert "remaining (manual): 10 (0 mechanical, 10 manual)" in first.stdout
    after = _sources(copy)
    assert after["sample_port/export.py"] == original["sample_port/export.py"]
    for text in after.values():
        compile(text, "ported", "exec")  # the rewrite is valid Python on either line

    second = _port(str(copy), "--write", "--no-check", cwd=tmp_path)
    assert second.returncode == 1
    assert "--- a/" not in second.stdout
    assert "nothing to rewrite: no mechanical replacement is left" in second.stdout
    assert _sources(copy) == after
    remaining = [(f.rule_id, f.file, f.line) for f in scan_package(copy).findings]
    assert remaining == MANUAL


# --------------------------------------------------------------------------- servers


@pytest.fixture(scope="module")
def mysql_server() -> Any:
    with started_server("mysql", MYSQL, RUN) as server:
        yield server


def test_rewritten_sample_activates_under_datajoint_2(tmp_path: Path, mysql_server: Any) -> None:
    """Under 2.x: the original fails, the ported copy passes on MySQL and activates on PostgreSQL.

    Under 0.14 (which cannot read the 2.x codecs): the original passes there, and the
    ported copy is valid Python; the suite's 2.3.5 run proves the activation.
    """
    spec = _copy_sample(tmp_path)
    if compat.major_version() >= 2:
        before = check(str(spec), mysql_server)
        assert before.status == "failed"
        assert before.failure is not None and "create_virtual_module" in before.failure.message
    else:
        assert compat.version().startswith("0.14")
        before = check(str(spec), mysql_server)
        assert before.status == "passed", before.failure
    write_fixes(tmp_path / "sample_port", scan_package)
    for text in _sources(tmp_path / "sample_port").values():
        compile(text, "ported", "exec")
    if compat.major_version() < 2:
        return
    assert compat.version() == "2.3.5"
    after = check(str(spec), mysql_server)
    assert after.status == "passed", after.failure
    assert after.check("data_roundtrip").status == "passed"
    assert sorted(t["name"] for t in after.to_dict()["tables"]) == [
        "Processing",
        "Recording",
        "Rig",
    ]
    with started_server("postgresql", POSTGRES, RUN) as postgres:
        on_postgres = check(str(spec), postgres)
    # Declared and activated on PostgreSQL too; what only the check sees: DataJoint
    # 2.3.5 cannot read an in-table <attach> back there (psycopg2 returns a memoryview).
    assert on_postgres.check("activated").status == "passed"
    assert on_postgres.check("declared_all").status == "passed"
    assert on_postgres.failure is not None and on_postgres.failure.table == "acquisition.Rig"
    assert "'memoryview' object has no attribute 'index'" in on_postgres.failure.message


def test_port_command_runs_the_check_where_datajoint_2_is(tmp_path: Path) -> None:
    """The command's own check: under 2.x it runs (isolated) and passes on the ported copy."""
    _copy_sample(tmp_path)
    done = _port(
        str(tmp_path / "sample-port.toml"),
        "--write",
        "--db",
        "mariadb",
        "--image",
        MARIADB,
        "--json",
        str(tmp_path / "port.json"),
        cwd=tmp_path,
    )
    report = json.loads((tmp_path / "port.json").read_text())
    assert done.returncode == 1, done.stderr  # the manual findings of export.py
    assert [(f["rule"], f["file"], f["line"]) for f in report["findings"]] == MANUAL
    if compat.major_version() >= 2:
        assert report["check"]["status"] == "passed", report["check"]
        assert "check under DataJoint 2.3.5: passed" in done.stdout
    else:
        assert report["check"] is None
        assert "DataJoint 0.14.10 is installed here" in report["check_note"]


def test_installed_wheel_ports_from_an_empty_directory(
    tmp_path: Path, installed_harness: Any
) -> None:
    source = tmp_path / "src"
    shutil.copytree(SAMPLE, source / "sample_port")
    empty = tmp_path / "empty"
    empty.mkdir()
    found = installed_harness.run(
        "harness",
        "port",
        str(source / "sample_port"),
        "--no-check",
        "--json",
        "out.json",
        cwd=empty,
    )
    assert found.returncode == 1, found.stderr
    report = json.loads((empty / "out.json").read_text())
    assert [(f["rule"], f["file"], f["line"]) for f in report["findings"]] == EXPECTED
    written = installed_harness.run(
        "harness", "port", str(source / "sample_port"), "--write", "--no-check", cwd=empty
    )
    assert written.returncode == 1 and "+++ b/sample_port/acquisition.py" in written.stdout
    assert [
        (f.rule_id, f.file, f.line) for f in scan_package(source / "sample_port").findings
    ] == MANUAL
    assert sorted(path.name for path in empty.iterdir()) == ["out.json"]


def test_every_rule_is_documented() -> None:
    """docs/porting.md's table lists exactly the rules, each with its severity."""
    from harness.port.rules import RULES

    text = (ROOT / "docs" / "porting.md").read_text()
    rows = {
        line.split("|")[1].strip().strip("`"): line.split("|")[2].strip()
        for line in text.split("## The rules", 1)[1].split("\n## ", 1)[0].splitlines()
        if line.startswith("| `")
    }
    assert set(rows) == set(RULES)
    for rule_id, severity in rows.items():
        assert severity.startswith(RULES[rule_id].severity), rule_id


def test_report_is_written_when_the_check_cannot_run(tmp_path: Path) -> None:
    """No server to be had: the findings are still printed and written, exit 2 (environment)."""
    report_path = tmp_path / "port.json"
    done = _port(
        str(SAMPLES / "sample_clean"),
        "--external",
        "mysql://root:unused@127.0.0.1:9/",
        "--startup-timeout",
        "1",
        "--json",
        str(report_path),
        cwd=tmp_path,
    )
    report = json.loads(report_path.read_text())
    assert report["findings"] == [] and report["check"] is None
    assert "no DataJoint 2 incompatibility in the source" in done.stdout
    if compat.major_version() >= 2:
        assert done.returncode == 2, done.stdout + done.stderr
        assert report["check_note"].startswith("the check could not run: external server")
        assert "unused" not in report_path.read_text() + done.stderr  # the password stays out
    else:
        assert done.returncode == 0
        assert "DataJoint 0.14.10 is installed here" in report["check_note"]


def test_write_refuses_a_spec_installed_package() -> None:
    """pip owns what a spec installs, wherever it landed (here: an editable harness)."""
    from harness.elements.spec import ElementSpec, InstallSpec
    from harness.elements.targets import target_from_spec
    from harness.port.source import locate_source

    spec = ElementSpec(name="element-x", package="harness", install=InstallSpec("element-x==1"))
    source = locate_source(target_from_spec("element-x", spec))
    assert source.package_dir == (ROOT / "harness").resolve()  # a source tree, yet spec-installed
    assert source.read_only is not None and "installed by its spec" in source.read_only
    plain = locate_source(target_from_spec("sample-port", _spec_named("sample-port")))
    assert plain.read_only is None and plain.package_dir == SAMPLE.resolve()


def _spec_named(name: str) -> Any:
    from harness.elements.spec import find_spec, load_spec

    path = find_spec(name)
    assert path is not None
    return load_spec(path)
