"""``harness release-check``: classifying schema changes, end to end on two sample releases.

``elements/samples/releases/`` holds two releases of one sample Element that
differ by one additive change (a nullable attribute added) and one breaking
change (an attribute removed); the command must find exactly those.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import MARIADB, harness_command, harness_containers, orphaned_since

from harness.manifest import diff_manifests
from harness.release.classify import BREAKING, classify, type_change

ROOT = Path(__file__).resolve().parents[1]
RELEASES = ROOT / "elements" / "samples" / "releases"
OLD, NEW = RELEASES / "sample-evolving-1.0", RELEASES / "sample-evolving-1.1"
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


def test_required_attribute_added_without_default_breaks() -> None:
    assert _verdicts(
        [_table("T", [])],
        [_table("T", [_attr("a", "int"), _attr("b", "int", default="0"), _attr("c", "int", True)])],
    ) == [
        ("+ attribute s.T.a int not null", "breaking"),
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


# ----------------------------------------------------------------- end to end


def release_check(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        harness_command(
            "release-check", "sample_evolving", "--db", "mariadb", "--image", MARIADB, *args
        ),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        cwd=cwd,
    )


EXPECTED_BREAKING = (
    "- `- attribute subject.Subject.subject_description varchar(1024)`: attribute removed"
)
EXPECTED_ADDITIVE = (
    "- `+ attribute subject.Subject.subject_nickname varchar(64)`: optional attribute added"
)


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
    done = release_check("--from", str(OLD), "--to", str(NEW), "--markdown", str(tmp_path / "r.md"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "## Schema changes" in done.stdout
    assert _sections(done.stdout) == {
        "Breaking": [EXPECTED_BREAKING],
        "Additive": [EXPECTED_ADDITIVE],
    }
    assert (tmp_path / "r.md").read_text() + "\n" == done.stdout
    assert "1 breaking, 1 additive" in done.stderr
    assert orphaned_since(before) == []


@pytest.mark.docker
def test_allow_breaking_exits_zero() -> None:
    done = release_check("--from", str(OLD), "--to", str(NEW), "--allow-breaking")
    assert done.returncode == 0, done.stdout + done.stderr
    assert EXPECTED_BREAKING in done.stdout and EXPECTED_ADDITIVE in done.stdout


@pytest.mark.docker
def test_release_check_between_git_refs(tmp_path: Path) -> None:
    repo = tmp_path / "repo"

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, timeout=60, capture_output=True)

    shutil.copytree(OLD, repo)
    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "0")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "1.0")
    git("tag", "v1.0")
    shutil.copytree(NEW / "sample_evolving", repo / "sample_evolving", dirs_exist_ok=True)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-am", "1.1")
    done = release_check("--repo", str(repo), "--from", "v1.0", "--to", "HEAD")
    assert done.returncode == 1, done.stdout + done.stderr
    assert _sections(done.stdout) == {
        "Breaking": [EXPECTED_BREAKING],
        "Additive": [EXPECTED_ADDITIVE],
    }
    assert "v1.0 (" in done.stdout
