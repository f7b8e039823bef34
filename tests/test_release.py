"""``harness release-check``: classifying schema changes, end to end on sample releases.

``elements/samples/releases/`` holds three releases of one sample Element: 1.0 to
1.1 is one additive change (a nullable attribute added) and one breaking change
(an attribute removed); 1.2 adds a module, which the spec (written for 1.2)
lists. The command must find exactly those, whichever form each side takes
(a published version, a source tree such as ``.``, a git ref), and each side
must import its own release, whatever the working directory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import MARIADB, MYSQL, POSTGRES, harness_command, harness_containers, orphaned_since

from harness.activation import compat
from harness.db.catalog import Table, own_charset
from harness.elements.spec import load_spec
from harness.errors import ConfigurationError
from harness.manifest import build_manifest, diff_manifests, dumps, load_manifest
from harness.release import crossversion
from harness.release.check import describe_failure
from harness.release.child import isolate_sys_path, origin_problem
from harness.release.classify import BREAKING, MIGRATION, classify, type_change
from harness.release.render import carry_over
from harness.release.sides import PipOptions, prepare_side, resolve_element
from harness.release.target import side_target

ROOT = Path(__file__).resolve().parents[1]
RELEASES = ROOT / "elements" / "samples" / "releases"
OLD, NEW = RELEASES / "sample-evolving-1.0", RELEASES / "sample-evolving-1.1"
NEWEST, SPEC = RELEASES / "sample-evolving-1.2", RELEASES / "sample-evolving.toml"
TIMEOUT = 600


@pytest.mark.parametrize(
    ("old", "new", "verdict"),
    [
        ("varchar(64)", "varchar(32)", "narrowed"),
        ("varchar(32)", "varchar(64)", "widened"),
        ("int", "smallint", "narrowed"),
        ("int", "bigint", "widened"),
        ("int unsigned", "int", "narrowed"),
        ("smallint unsigned", "int", "widened"),
        ("double", "float", "narrowed"),
        ("float32", "float64", "widened"),
        ("varchar(255)", "text", "widened"),
        ("enum('a','b')", "enum('a','b','c')", "widened"),
        ("enum('a','b')", "enum('a')", "narrowed"),
        ("enum('a','b')", "enum('b','a')", "reordered"),
        ("enum('a','b')", "enum('c','a','b')", "reordered"),
        ("enum('a','b')", "enum('a','c')", "narrowed"),
        ("datetime", "datetime(3)", "widened"),
        ("decimal(6,2)", "decimal(5,2)", "narrowed"),
        ("datetime(3)", "datetime", "narrowed"),
        ("date", "datetime", "changed"),
    ],
)
def test_type_changes(old: str, new: str, verdict: str) -> None:
    assert type_change(old, new) == verdict


def _table(name: str, attributes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "schema": "s",
        "name": name,
        "tier": "manual",
        "primary_key": ["id"],
        "attributes": [_attr("id", "int"), *attributes],
        "foreign_keys": [],
        **extra,
    }


def _attr(name: str, type_: str, nullable: bool = False, default: str | None = None) -> dict:
    return {"name": name, "type": type_, "nullable": nullable, "default": default}


def _verdicts(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[tuple[str, str]]:
    before, after = {"tables": old}, {"tables": new}
    return [
        (item.change.render(), item.verdict)
        for item in classify(diff_manifests(before, after), before, after)
    ]


def test_required_attribute_added_without_default_is_data_dependent() -> None:
    assert _verdicts(
        [_table("T", [])],
        [_table("T", [_attr("a", "int"), _attr("b", "int", default="0"), _attr("c", "int", True)])],
    ) == [
        ("+ attribute s.T.a int not null", "data-dependent"),
        ("+ attribute s.T.b int not null default 0", "additive"),
        ("+ attribute s.T.c int", "additive"),
    ]


def test_tier_primary_key_and_foreign_key_changes_break() -> None:
    fk = {"parent": "s.P", "attributes": {"id": "id"}, "nullable": False}
    moved = {"parent": "s.Q", "attributes": {"id": "id"}, "nullable": False}
    old = [_table("T", [], foreign_keys=[fk])]
    new = [_table("T", [], tier="lookup", primary_key=["id", "x"], foreign_keys=[moved])]
    verdicts = _verdicts(old, new)
    assert {verdict for _, verdict in verdicts} == {BREAKING}
    assert [text.split()[1] for text, _ in verdicts] == ["tier", "primary", "foreign", "foreign"]


def test_new_table_and_comment_are_additive() -> None:
    old = [_table("T", [_attr("a", "int")])]
    new = [_table("T", [{**_attr("a", "int"), "comment": "now documented"}]), _table("U", [])]
    assert {verdict for _, verdict in _verdicts(old, new)} == {"additive"}


def test_a_core_type_changing_with_the_type_is_one_change_within_a_line() -> None:
    old = [_table("T", [{**_attr("n", "int"), "core_type": "int32"}])]
    new = [_table("T", [{**_attr("n", "bigint"), "core_type": "int64"}])]
    assert _verdicts(old, new) == [("~ type s.T.n int -> bigint", "additive")]


def test_a_likely_rename_is_one_change_and_an_ambiguous_one_is_not() -> None:
    old = [_table("T", [_attr("a", "float"), _attr("gone", "date")])]
    new = [_table("T", [_attr("b", "float")])]
    assert _verdicts(old, new) == [
        ("~ attribute renamed s.T.a -> b float", "breaking"),
        ("- attribute s.T.gone date", "breaking"),
    ]
    # Two attributes of the type added: which one the old became is a guess, not a rename.
    two = [_table("T", [_attr("b", "float"), _attr("c", "float", True)])]
    assert [text.split()[1] for text, _ in _verdicts(old, two)] == ["attribute"] * 4


def test_unique_index_and_foreign_key_on_an_existing_table_are_data_dependent() -> None:
    fk = {"parent": "s.P", "attributes": {"id": "id"}, "nullable": False}
    old = [_table("T", [_attr("a", "int")], unique_indexes=[])]
    new = [
        _table(
            "T",
            [_attr("a", "int"), _attr("b", "int", True)],
            unique_indexes=[["a"], ["b"]],
            foreign_keys=[fk],
        )
    ]
    assert _verdicts(old, new) == [
        ("+ attribute s.T.b int", "additive"),
        ("+ unique index s.T (a)", "data-dependent"),
        ("+ unique index s.T (b)", "additive"),  # only new attributes: Atlas does not flag it
        ("+ foreign key s.T -> s.P (id)", "data-dependent"),
    ]
    assert _verdicts(new, old)[1:] == [
        ("- unique index s.T (a)", "additive"),
        ("- unique index s.T (b)", "additive"),
        ("- foreign key s.T -> s.P (id)", "breaking"),
    ]


def test_charset_always_breaks_and_collation_only_on_a_key_attribute() -> None:
    old = [
        _table("T", [_attr("a", "varchar(8)"), _attr("u", "varchar(8)")], unique_indexes=[["u"]])
    ]
    new = [
        _table(
            "T",
            [
                {**_attr("a", "varchar(8)"), "charset": "latin1"},
                {**_attr("u", "varchar(8)"), "collation": "utf8mb4_bin"},
            ],
            unique_indexes=[["u"]],
        )
    ]
    assert _verdicts(old, new) == [
        ("~ charset s.T.a None -> latin1", "breaking"),
        ("~ collation s.T.u None -> utf8mb4_bin", "breaking"),
    ]
    new[0]["unique_indexes"] = old[0]["unique_indexes"] = []
    assert _verdicts(old, new)[1] == ("~ collation s.T.u None -> utf8mb4_bin", "additive")


def test_the_newer_fields_are_written_only_where_they_hold_something(tmp_path: Path) -> None:
    """Tables without unique indexes or own charsets keep their manifest's bytes."""
    path = ROOT / "elements" / "manifests" / "sample-clean.dj0.json"
    reviewed = load_manifest(path)
    tables = [Table.from_dict({**table, "unique_indexes": []}) for table in reviewed["tables"]]
    rebuilt = build_manifest(
        "sample-clean", None, 0, tables, dict.fromkeys(reviewed["mocked_upstream"], "")
    )
    assert dumps(rebuilt) == path.read_text()
    # Not read (None, as on PostgreSQL) is never a difference; absent is "none".
    unread = json.loads(json.dumps(reviewed))
    unread["tables"][0]["unique_indexes"] = None
    assert diff_manifests(reviewed, unread) == []
    unread["tables"][0]["unique_indexes"] = [["lab"]]
    table = f"{reviewed['tables'][0]['schema']}.{reviewed['tables'][0]['name']}"
    assert [c.render() for c in diff_manifests(reviewed, unread)] == [
        f"+ unique index {table} (lab)"
    ]
    unread["tables"][0]["unique_indexes"] = ["a"]
    (tmp_path / "m.json").write_text(json.dumps(unread))
    with pytest.raises(ConfigurationError, match="unique_indexes must be a list"):
        load_manifest(tmp_path / "m.json")


def test_a_column_records_only_the_charset_and_collation_it_chose() -> None:
    schema = ("utf8mb4_general_ci", "utf8mb4")
    assert own_charset("utf8mb4", "utf8mb4_general_ci", *schema, "Yes") == (None, None)
    assert own_charset("latin1", "latin1_swedish_ci", *schema, "Yes") == ("latin1", None)
    assert own_charset("latin1", "latin1_bin", *schema, "") == ("latin1", "latin1_bin")
    assert own_charset("utf8mb4", "utf8mb4_bin", *schema, "") == (None, "utf8mb4_bin")
    assert own_charset(None, None, *schema, None) == (None, None)


def _cross(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[Any]:
    before = {"datajoint_major": 0, "tables": old}
    after = {"datajoint_major": 2, "tables": new}
    return classify(diff_manifests(before, after), before, after)


def test_between_datajoint_lines_markers_and_codecs_are_migration_steps() -> None:
    old = [_table("T", [_attr("trace", "longblob"), _attr("n", "int"), _attr("f", "binary(16)")])]
    old[0]["attributes"][3]["core_type"] = "attach@store"
    new = [
        _table(
            "T",
            [
                {**_attr("trace", "longblob"), "core_type": "<blob>"},
                {**_attr("n", "smallint"), "core_type": "int16"},
                {**_attr("f", "json"), "core_type": "<attach@store>"},
            ],
        )
    ]
    verdicts = [(item.change.render(), item.verdict, item.rule) for item in _cross(old, new)]
    assert verdicts == [
        ("~ type s.T.f binary(16) -> json", "migration", crossversion.REQUIRED),
        ("~ core_type s.T.f attach@store -> <attach@store>", "migration", crossversion.REQUIRED),
        ("~ type s.T.n int -> smallint", "breaking", "Skeema"),  # not a marker: as within a line
        ("~ core_type s.T.n None -> int16", "migration", crossversion.OPTIONAL),
        ("~ core_type s.T.trace None -> <blob>", "migration", crossversion.REQUIRED),
    ]
    # Within one line a core type appearing is no migration.
    same = {"datajoint_major": 2, "tables": old}
    assert MIGRATION not in {
        item.verdict
        for item in classify(
            diff_manifests(same, {**same, "tables": new}), same, {**same, "tables": new}
        )
    }


def test_the_carry_over_verdict_names_required_steps_only() -> None:
    optional = _cross(
        [_table("T", [_attr("n", "int")])],
        [_table("T", [{**_attr("n", "int"), "core_type": "int32"}])],
    )
    assert carry_over(optional) == (
        "a database declared by the old release carries over as it is "
        "(1 optional marker step(s) listed)"
    )
    required = _cross(
        [_table("T", [_attr("b", "longblob")])],
        [_table("T", [{**_attr("b", "longblob"), "core_type": "<blob>"}])],
    )
    assert carry_over(required).endswith("carries over after the migration steps")
    assert carry_over([]) == "a database declared by the old release carries over as it is"


# ------------------------------------------------------------ sides, spec, isolation


def test_spec_module_list_applies_only_to_the_release_it_was_written_for() -> None:
    spec = load_spec(SPEC)
    older, notes = side_target("sample-evolving", "sample_evolving", spec, "1.1", NEW)
    assert older.modules == () and older.version == "1.1" and older.sys_path == (NEW,)
    assert any("sample_evolving.note" in note and "skipped" in note for note in notes), notes
    assert any("modules are discovered" in note for note in notes), notes
    newest, notes = side_target("sample-evolving", "sample_evolving", spec, "1.2", NEWEST)
    assert newest.modules == ("sample_evolving.subject", "sample_evolving.note")
    assert notes == []


def test_a_spec_module_the_release_lacks_is_skipped_with_a_note() -> None:
    # A spec naming no version applies to every release, minus the modules one lacks.
    spec = load_spec(SPEC)
    unversioned = type(spec)(**{**spec.__dict__, "version": None})
    target, notes = side_target("sample-evolving", "sample_evolving", unversioned, "1.1", NEW)
    assert target.modules == ("sample_evolving.subject",)
    assert notes == [
        "sample_evolving.note, named by the spec, is not a module of this release: skipped"
    ]


def test_a_directory_side_is_labelled_by_the_version_of_its_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(NEW, tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    element = resolve_element("sample_evolving")
    side = prepare_side("to", ".", element, repo=None, scratch=tmp_path, pip=PipOptions())
    assert (side.version, side.label, side.root) == ("1.1", "1.1 (.)", tmp_path / "repo")
    (tmp_path / "repo" / "pyproject.toml").unlink()  # falls back to __version__
    fallback = prepare_side("to", ".", element, repo=None, scratch=tmp_path, pip=PipOptions())
    assert fallback.label == "1.1 (.)"
    (tmp_path / "repo" / "sample_evolving" / "__init__.py").write_text("")
    unknown = prepare_side("to", ".", element, repo=None, scratch=tmp_path, pip=PipOptions())
    assert unknown.label == "version unknown (.)"


def test_a_spec_is_found_by_its_package_name() -> None:
    element = resolve_element("element_event")
    assert (element.name, element.package, element.distribution) == (
        "element-event",
        "element_event",
        "element-event",
    )


def test_a_failure_is_described_by_class_module_and_line_never_none() -> None:
    text = describe_failure(
        {
            "class": "declaration_error",
            "message": "bad type",
            "module": "pkg.mod",
            "table": "T",
            "file": "pkg/mod.py",
            "line": 12,
            "hint": None,
        }
    )
    assert text == "declaration_error in pkg.mod, table T, at pkg/mod.py:12: bad type"
    empty = describe_failure({"class": None, "message": None, "module": None, "line": None})
    assert "None" not in empty and "unclassified failure in an unknown module" in empty


def test_the_child_imports_the_side_even_from_a_directory_holding_another_copy(
    tmp_path: Path,
) -> None:
    """Run from the root of a tree of 1.1, the child of side 1.0 finds 1.0, never ``.``."""
    shutil.copytree(NEW, tmp_path / "repo")
    code = (
        "import sys; from pathlib import Path; "
        "from harness.release.child import isolate_sys_path, imported_from; "
        f"isolate_sys_path(Path({str(OLD)!r}), [Path.cwd()]); "
        "print(imported_from('sample_evolving')[0])"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "repo")}
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path / "repo",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == str(OLD / "sample_evolving")


def test_an_import_hook_that_supplies_another_copy_is_refused(tmp_path: Path) -> None:
    """An editable install's finder ahead of the path: the child must refuse, not check it."""
    import importlib.util

    class Elsewhere:
        @staticmethod
        def find_spec(name: str, path: Any = None, target: Any = None) -> Any:
            if name != "sample_evolving":
                return None
            init = NEW / "sample_evolving" / "__init__.py"
            return importlib.util.spec_from_file_location(
                name, init, submodule_search_locations=[str(init.parent)]
            )

    saved = list(sys.path)
    sys.meta_path.insert(0, Elsewhere)
    try:
        isolate_sys_path(OLD, [])
        problem = origin_problem("sample_evolving", OLD, "1.0")
    finally:
        sys.meta_path.remove(Elsewhere)
        sys.path[:] = saved
    assert problem is not None
    assert str(NEW / "sample_evolving") in problem and "refusing" in problem


# ----------------------------------------------------------------- end to end


def release_check(
    *args: str,
    element: str = "sample_evolving",
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        harness_command("release-check", element, "--db", "mariadb", "--image", MARIADB, *args),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=cwd,
        env=env,
    )


EXPECTED_BREAKING = (
    "- `- attribute subject.Subject.subject_description varchar(1024)`: attribute dropped "
    "[Atlas DS103, Skeema]"
)
EXPECTED_ADDITIVE = (
    "- `+ attribute subject.Subject.subject_nickname varchar(64)`: optional attribute added "
    "[Atlas, Skeema: safe]"
)
EXPECTED = {
    "Breaking": [EXPECTED_BREAKING],
    "Data-dependent": ["- none"],
    "Additive": [EXPECTED_ADDITIVE],
}


def _sections(markdown: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = None
    for line in markdown.splitlines():
        if line.startswith("### "):
            current = sections.setdefault(line[4:], [])
        elif current is not None and line.startswith("- "):
            current.append(line)
    return sections


@pytest.mark.docker
def test_release_check_finds_one_breaking_and_one_additive_change(tmp_path: Path) -> None:
    before = harness_containers()
    done = release_check(
        "--from",
        str(OLD),
        "--to",
        str(NEW),
        "--markdown",
        str(tmp_path / "r.md"),
        "--json",
        str(tmp_path / "r.json"),
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"## Schema changes: sample_evolving 1.0 ({OLD}) → 1.1 ({NEW})" in done.stdout
    assert _sections(done.stdout) == EXPECTED
    assert (tmp_path / "r.md").read_text() + "\n" == done.stdout
    assert "1 breaking, 0 data-dependent, 1 additive change(s)" in done.stderr
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["status"] == "breaking"
    assert record["summary"] == {"breaking": 1, "data-dependent": 0, "migration": 0, "additive": 1}
    assert record["from"]["datajoint"] == record["to"]["datajoint"] == compat.version()
    assert "carries_over" not in record  # one DataJoint line: no migration question
    assert [change["verdict"] for change in record["changes"]] == ["breaking", "additive"]
    assert record["from"]["imported_from"] == [str(OLD / "sample_evolving")]
    assert record["to"]["imported_from"] == [str(NEW / "sample_evolving")]
    assert orphaned_since(before) == []


@pytest.mark.docker
def test_allow_breaking_exits_zero() -> None:
    done = release_check("--from", str(OLD), "--to", str(NEW), "--allow-breaking")
    assert done.returncode == 0, done.stdout + done.stderr
    assert EXPECTED_BREAKING in done.stdout and EXPECTED_ADDITIVE in done.stdout


def _git(repo: Path, *args: str) -> None:
    identity = ["-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(
        ["git", "-C", str(repo), *identity, *args], check=True, timeout=60, capture_output=True
    )


@pytest.mark.docker
def test_release_check_between_git_refs_from_the_repository_root(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(OLD, repo)
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "1.0")
    _git(repo, "tag", "v1.0")
    # Fresh mtimes: git takes same-size files with the same mtime as unchanged.
    shutil.copytree(NEW, repo, dirs_exist_ok=True, copy_function=shutil.copy)
    _git(repo, "commit", "-q", "-am", "1.1")
    # The working tree now differs from both refs: it must not be what either side checks.
    shutil.copytree(NEWEST, repo, dirs_exist_ok=True, copy_function=shutil.copy)
    done = release_check("--repo", ".", "--from", "v1.0", "--to", "HEAD", cwd=repo)
    assert done.returncode == 1, done.stdout + done.stderr
    assert _sections(done.stdout) == EXPECTED
    assert "1.0 (v1.0 @ " in done.stdout and "→ 1.1 (HEAD @ " in done.stdout


@pytest.mark.docker
def test_a_side_whose_modules_differ_from_the_spec_is_checked_with_its_own(tmp_path: Path) -> None:
    done = release_check(
        "--from",
        str(NEW),
        "--to",
        str(NEWEST),
        "--json",
        str(tmp_path / "r.json"),
        element=str(SPEC),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert _sections(done.stdout) == {
        "Breaking": ["- none"],
        "Data-dependent": ["- none"],
        "Additive": ["- `+ table note.Note`: table added [Atlas, Skeema: safe]"],
    }
    assert (
        "sample_evolving.note, named by the spec (written for 1.2), is not a module" in done.stderr
    )
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["from"]["modules"] == "discovered"
    assert record["to"]["modules"] == ["sample_evolving.subject", "sample_evolving.note"]


@pytest.mark.docker
def test_a_tree_that_differs_from_its_committed_manifest_is_compared_not_failed(
    tmp_path: Path,
) -> None:
    """sample-clean has a reviewed manifest; a changed tree is a release, not a failure."""
    changed = tmp_path / "sample_clean"
    shutil.copytree(ROOT / "elements" / "samples" / "sample_clean", changed)
    lab = changed / "lab.py"
    lab.write_text(
        lab.read_text().replace(
            "    lab_name: varchar(255)\n",
            "    lab_name: varchar(255)\n    lab_phone=null: varchar(32)\n",
        )
    )
    done = release_check(
        "--from",
        str(ROOT / "elements" / "samples" / "sample_clean"),
        "--to",
        str(changed),
        element="sample-clean",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert _sections(done.stdout)["Additive"] == [
        "- `+ attribute lab.Lab.lab_phone varchar(32)`: optional attribute added "
        "[Atlas, Skeema: safe]"
    ]
    assert "None" not in done.stderr


@pytest.mark.docker
def test_a_side_that_fails_to_activate_names_class_module_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(NEW, broken)
    subject = broken / "sample_evolving" / "subject.py"
    lines = subject.read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if "subject_birth_date: date" in line)
    lines[number - 1] = lines[number - 1].replace(": date", ": no_such_type")
    subject.write_text("\n".join(lines) + "\n")
    done = release_check(
        "--from", str(OLD), "--to", str(broken), "--json", str(tmp_path / "r.json")
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "## Schema changes" not in done.stdout
    message = next(line for line in done.stderr.splitlines() if "does not pass its check" in line)
    assert message.startswith(f"release-check: 1.1 ({broken}) does not pass its check: ")
    assert "unsupported_datajoint in sample_evolving.subject, table Subject, at " in message
    assert f"subject.py:{number}" in message
    assert "None" not in done.stderr
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["status"] == "failed" and record["changes"] == []
    assert record["from"]["status"] == "passed"
    assert record["to"]["failure"]["class"] == "unsupported_datajoint"


def _wheel_of(release: Path, tmp_path: Path) -> Path:
    """A wheel of a sample release, built from a copy (the build writes into its tree)."""
    source = tmp_path / f"build-{release.name}"
    shutil.copytree(release, source)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(wheels),
            str(source),
        ],
        check=True,
        timeout=TIMEOUT,
        capture_output=True,
    )
    return wheels


@pytest.mark.docker
def test_two_published_versions(tmp_path: Path) -> None:
    _wheel_of(OLD, tmp_path)
    wheels = _wheel_of(NEW, tmp_path)
    done = release_check("--from", "1.0", "--to", "1.1", "--find-links", str(wheels), cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "## Schema changes: sample_evolving 1.0 → 1.1\n" in done.stdout
    assert _sections(done.stdout) == EXPECTED


@pytest.mark.docker
def test_published_release_against_the_working_tree_from_the_repository_root(
    tmp_path: Path, installed_harness: Any
) -> None:
    """A maintainer in their repository: ``--from 1.0 --to .``, the harness from its wheel.

    The working tree is 1.1; 1.0 is "published" as a wheel in a local index
    (``--find-links``). Were the check of 1.0 to import ``sample_evolving`` from
    the working directory, both sides would be 1.1 and no change would be found.
    """
    wheels = _wheel_of(OLD, tmp_path)
    repo = tmp_path / "sample-evolving"
    shutil.copytree(NEW, repo)
    done = installed_harness.run(
        "harness",
        "release-check",
        "sample_evolving",
        "--from",
        "1.0",
        "--to",
        ".",
        "--find-links",
        str(wheels),
        "--db",
        "mariadb",
        "--image",
        MARIADB,
        "--json",
        "release.json",
        cwd=repo,
        timeout=TIMEOUT,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "## Schema changes: sample_evolving 1.0 → 1.1 (.)" in done.stdout
    assert _sections(done.stdout) == EXPECTED
    record = json.loads((repo / "release.json").read_text())
    (old_from,) = record["from"]["imported_from"]
    assert not Path(old_from).is_relative_to(repo) and old_from.endswith("sample_evolving")
    assert record["to"]["imported_from"] == [str(repo / "sample_evolving")]
    assert (record["from"]["label"], record["to"]["label"]) == ("1.0", "1.1 (.)")


HOOK = """
import importlib.util, sys

class _Elsewhere:
    # What an editable install's finder does: answer for the package before the path.
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name != "sample_evolving":
            return None
        init = {init!r}
        return importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[init.rsplit("/", 1)[0]]
        )

sys.meta_path.insert(0, _Elsewhere)
"""


@pytest.mark.docker
def test_a_copy_supplied_by_an_import_hook_is_refused(tmp_path: Path) -> None:
    """An environment that would hand either side the 1.1 tree: refused, never compared."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(
        HOOK.format(init=str(NEW / "sample_evolving" / "__init__.py"))
    )
    env = {**os.environ, "PYTHONPATH": str(hooks)}
    done = release_check("--from", str(OLD), "--to", str(NEWEST), env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "## Schema changes" not in done.stdout
    assert f"would be imported from {NEW / 'sample_evolving'}" in done.stderr
    assert "refusing to check another copy" in done.stderr


@pytest.mark.docker
def test_two_releases_published_on_the_package_index(tmp_path: Path) -> None:
    """element-event 0.2.0 and 0.2.3, installed from the index each into its own directory."""
    from harness.activation import compat

    done = release_check(
        "--from",
        "0.2.0",
        "--to",
        "0.2.3",
        "--json",
        str(tmp_path / "r.json"),
        element="element-event",
        cwd=tmp_path,
    )
    record = json.loads((tmp_path / "r.json").read_text())
    sides = record["from"], record["to"]
    for side in sides:
        (location,) = side["imported_from"]
        assert Path(location) == Path(side["root"]) / "element_event"
    if compat.major_version() >= 2:
        # Both releases call dj.schema, which DataJoint 2.x removed (docs/compatibility.md).
        assert done.returncode == 1, done.stdout + done.stderr
        assert record["status"] == "failed"
        assert "0.2.0 does not pass its check: unsupported_datajoint in element_event" in (
            done.stderr
        )
        return
    assert done.returncode == 0, done.stdout + done.stderr
    assert "## Schema changes: element-event 0.2.0 → 0.2.3\n" in done.stdout
    assert record["status"] == "compatible"
    assert [side["status"] for side in sides] == ["passed", "passed"]
    assert sides[0]["tables"] == sides[1]["tables"] > 0


@pytest.mark.docker
def test_update_manifests_writes_each_side_into_the_manifest_dir(tmp_path: Path) -> None:
    reviewed = tmp_path / "manifests"
    done = release_check(
        "--from",
        str(OLD),
        "--to",
        str(NEW),
        "--allow-breaking",
        "--manifest-dir",
        str(reviewed),
        "--update-manifests",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    major = compat.major_version()
    written = sorted(path.name for path in reviewed.iterdir())
    assert written == [f"sample_evolving-1.0.dj{major}.json", f"sample_evolving-1.1.dj{major}.json"]
    new = json.loads((reviewed / f"sample_evolving-1.1.dj{major}.json").read_text())
    assert "subject_nickname" in json.dumps(new)


def test_update_manifests_without_a_manifest_dir_is_refused_before_any_check() -> None:
    done = release_check("--from", str(OLD), "--to", str(NEW), "--update-manifests")
    assert done.returncode == 2
    assert "--update-manifests needs --manifest-dir" in done.stderr


RULES_OLD, RULES_NEW = RELEASES / "sample-rules-1.0", RELEASES / "sample-rules-2.0"
RULES = {
    "Breaking": [
        "- `~ collation rules.Code.code None -> {charset}_bin`: collation changed on a key "
        "attribute [Skeema]",
        "- `- table rules.Dropped`: table dropped [Atlas DS102, Skeema]",
        "- `~ charset rules.Item.code None -> {other}`: character set changed [Skeema]",
        "- `- attribute rules.Item.gone date`: attribute dropped [Atlas DS103, Skeema]",
        "- `~ type rules.Item.mood enum('x','y','z') -> enum('x','y')`: enum value removed "
        "[Skeema]",
        "- `~ type rules.Item.name varchar(64) -> varchar(32)`: type narrowed [Skeema]",
        "- `~ nullable rules.Item.note True -> False`: NOT NULL where it was nullable "
        "[Atlas MF104, Skeema]",
        "- `~ attribute renamed rules.Item.old_weight -> new_weight float`: likely rename (one "
        "attribute of this type dropped, one added) [Atlas BC102, Skeema]",
        "- `~ type rules.Item.phase enum('p','q') -> enum('q','p')`: enum values reordered "
        "[Skeema]",
        "- `- foreign key rules.Item -> rules.Other (other_id)`: foreign key dropped [Atlas CD101]",
        "- `~ primary key rules.Keyed [keyed_id] -> [keyed_id, keyed_no]`: primary key changed "
        "[harness]",
    ],
    "Data-dependent": [
        "- `+ attribute rules.Item.parent_id int not null`: required attribute added without a "
        "default to an existing table [Atlas MF103]",
        "- `+ attribute rules.Item.required smallint not null`: required attribute added without "
        "a default to an existing table [Atlas MF103]",
        "- `+ unique index rules.Item (serial)`: unique index added over existing attributes: "
        "existing rows may repeat [Atlas MF101]",
        "- `+ foreign key rules.Item -> rules.Parent (parent_id)`: foreign key added to an "
        "existing table: existing rows must reference the parent [Atlas data-dependent class]",
        "- `+ attribute rules.Keyed.keyed_no int not null`: required attribute added without a "
        "default to an existing table [Atlas MF103]",
    ],
    "Additive": [
        "- `+ table rules.Added`: table added [Atlas, Skeema: safe]",
        "- `+ attribute rules.Item.counted int not null default 0`: optional attribute added "
        "[Atlas, Skeema: safe]",
        "- `+ attribute rules.Item.extra varchar(8)`: optional attribute added "
        "[Atlas, Skeema: safe]",
        "- `~ type rules.Item.grade enum('a','b') -> enum('a','b','c')`: type widened "
        "[Skeema: safe]",
        "- `~ collation rules.Item.label None -> {charset}_bin`: collation changed on an "
        "attribute outside every key [Skeema: safe]",
        "- `~ type rules.Item.size int -> bigint`: type widened [Skeema: safe]",
    ],
}


@pytest.mark.docker
def test_every_rule_on_a_pair_of_sample_releases(tmp_path: Path) -> None:
    """sample-rules 1.0 -> 2.0 (elements/samples/releases/README.md): one change per rule."""
    before = harness_containers()
    done = release_check(
        "--from",
        str(RULES_OLD),
        "--to",
        str(RULES_NEW),
        "--json",
        str(tmp_path / "r.json"),
        element="sample_rules",
    )
    assert done.returncode == 1, done.stdout + done.stderr
    record = json.loads((tmp_path / "r.json").read_text())
    # The schema's default character set is the server's: the sample converts to the other.
    code = next(c for c in record["changes"] if c["subject"] == "rules.Item.code")
    other = code["detail"].split("-> ")[1]
    charset = "utf8mb4" if other == "latin1" else "latin1"
    expected = {
        name: [line.format(charset=charset, other=other) for line in lines]
        for name, lines in RULES.items()
    }
    assert _sections(done.stdout) == expected
    assert record["status"] == "breaking"
    assert record["summary"] == {"breaking": 11, "data-dependent": 5, "migration": 0, "additive": 6}
    assert "11 breaking, 5 data-dependent, 6 additive change(s)" in done.stderr
    assert orphaned_since(before) == []


CROSSING_OLD, CROSSING_NEW = RELEASES / "sample-crossing-1.0", RELEASES / "sample-crossing-1.1"
CROSSING_STEPS = [
    "- `~ core_type scan.Rig.rig None -> varchar(16)`: DataJoint 2 records the core type "
    "`:varchar(16):` in the comment; it reads the column as varchar(16) without it "
    f"[{crossversion.OPTIONAL}]",
    "- `~ core_type scan.Rig.rig_description None -> varchar(255)`: DataJoint 2 records the core "
    "type `:varchar(255):` in the comment; it reads the column as varchar(255) without it "
    f"[{crossversion.OPTIONAL}]",
    "- `~ core_type scan.Scan.calibrated None -> bool`: DataJoint 2 records the core type "
    f"`:bool:` in the comment; it reads the column as tinyint without it [{crossversion.OPTIONAL}]",
    "- `~ core_type scan.Scan.scan_id None -> int32`: DataJoint 2 records the core type "
    f"`:int32:` in the comment; it reads the column as int without it [{crossversion.OPTIONAL}]",
    "- `~ core_type scan.Scan.settings None -> json`: DataJoint 2 records the core type "
    f"`:json:` in the comment; it reads the column as json without it [{crossversion.OPTIONAL}]",
    "- `~ core_type scan.Scan.trace None -> <blob>`: mark the column for DataJoint 2's <blob> "
    "codec: its comment must begin with `:<blob>:` (without it DataJoint 2 reads longblob as "
    f"raw bytes) [{crossversion.REQUIRED}]",
]


def _cross_arguments(tmp_path: Path) -> list[str]:
    from test_matrix import environment_for

    return [
        "--from",
        str(CROSSING_OLD),
        "--to",
        str(CROSSING_NEW),
        "--from-datajoint",
        "0.14.10",
        "--to-datajoint",
        "2.3.5",
        "--python-env",
        f"0.14.10={environment_for('0.14.10')}",
        "--python-env",
        f"2.3.5={environment_for('2.3.5')}",
        "--db",
        "mysql",
        "--image",
        MYSQL,
        "--json",
        str(tmp_path / "r.json"),
    ]


def _assert_carries_over_after_steps(done: subprocess.CompletedProcess[str], record: Any) -> None:
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(DataJoint 0.14.10 → 2.3.5)" in done.stdout
    assert (
        "Verdict: a database declared by the old release carries over after the migration steps."
        in done.stdout
    )
    assert _sections(done.stdout) == {
        "Breaking": ["- none"],
        "Data-dependent": ["- none"],
        "Migration steps": CROSSING_STEPS,
        "Additive": ["- none"],
    }
    assert record["status"] == "migration" and record["carries_over"] is True
    assert (record["from"]["datajoint"], record["to"]["datajoint"]) == ("0.14.10", "2.3.5")


@pytest.mark.docker
def test_a_database_declared_under_datajoint_0_14_carries_over_to_the_port_for_2(
    tmp_path: Path,
) -> None:
    """sample-crossing 1.0 under 0.14.10 -> its port 1.1 under 2.3.5, on MySQL.

    Same tables, keys and foreign keys; DataJoint 2 adds its core-type markers
    (optional) and needs the ``<blob>`` codec's marker on the blob (required);
    ``uuid`` is marked alike by both lines, ``json`` and ``bool`` keep their columns.
    """
    before = harness_containers()
    done = subprocess.run(
        harness_command("release-check", "sample_crossing", *_cross_arguments(tmp_path)),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    record = json.loads((tmp_path / "r.json").read_text())
    _assert_carries_over_after_steps(done, record)
    assert orphaned_since(before) == []


@pytest.mark.docker
def test_the_cross_version_check_from_the_installed_wheel(
    tmp_path: Path, installed_harness: Any
) -> None:
    """The wheel's ``harness`` runs the check; each side's child runs in the given environment."""
    done = installed_harness.run(
        "harness",
        "release-check",
        "sample_crossing",
        *_cross_arguments(tmp_path),
        cwd=tmp_path,
        timeout=TIMEOUT,
    )
    record = json.loads((tmp_path / "r.json").read_text())
    _assert_carries_over_after_steps(done, record)


def test_a_datajoint_version_that_is_none_is_refused_before_any_check() -> None:
    done = release_check("--from", str(OLD), "--to", str(NEW), "--to-datajoint", "latest")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--to-datajoint 'latest' is not a DataJoint version" in done.stderr


@pytest.mark.docker
def test_a_unique_index_is_read_on_postgresql_under_datajoint_2(tmp_path: Path) -> None:
    """Both sides under DataJoint 2.3.5 (whatever runs the harness), on PostgreSQL."""
    from test_matrix import environment_for

    changed = tmp_path / "sample-evolving"
    shutil.copytree(NEW, changed)
    subject = changed / "sample_evolving" / "subject.py"
    marker = "    subject_nickname=null: varchar(64)"
    text = subject.read_text()
    assert marker in text
    subject.write_text(text.replace(marker, "    unique index (subject_nickname)\n" + marker, 1))
    done = subprocess.run(
        harness_command(
            "release-check",
            "sample_evolving",
            "--db",
            "postgresql",
            "--image",
            POSTGRES,
            "--from",
            str(NEW),
            "--to",
            str(changed),
            "--from-datajoint",
            "2.3.5",
            "--to-datajoint",
            "2.3.5",
            "--python-env",
            f"2.3.5={environment_for('2.3.5')}",
        ),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert _sections(done.stdout) == {
        "Breaking": ["- none"],
        "Data-dependent": [
            "- `+ unique index subject.Subject (subject_nickname)`: unique index added over "
            "existing attributes: existing rows may repeat [Atlas MF101]"
        ],
        "Additive": ["- none"],
    }


def test_postgresql_is_refused_for_a_side_under_datajoint_0_14() -> None:
    done = release_check(
        "--from", str(OLD), "--to", str(NEW), "--from-datajoint", "0.14.10", "--db", "postgresql"
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "DataJoint 0.14.10 cannot use a postgresql server" in done.stderr
