"""The ``[tool.harness]`` table, added to pyproject.toml without touching the rest.

A TOML library would rewrite the whole file (comments, order, quoting), and a
maintainer's pyproject.toml is theirs: the table is appended as text, the bytes
before it stay as they were, and the result is parsed back to prove it says what
was meant. Only ``--force`` replaces an existing, different table, and then only
the lines from its ``[tool.harness]`` header to the next table.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import ConfigurationError
from harness.scaffold.files import APPEND, CREATE, KEPT, REPLACE, UNCHANGED, PlannedFile
from harness.settings import resolve_settings

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

_HEADER = re.compile(
    rb"^[ \t]*\[[ \t]*tool[ \t]*\.[ \t]*harness[ \t]*\][ \t]*(#[^\r\n]*)?\r?$", re.M
)
_NEXT_TABLE = re.compile(rb"^[ \t]*\[", re.M)


@dataclass(frozen=True)
class HarnessTable:
    """What ``harness init`` configures: the Elements pytest checks and where manifests live."""

    elements: tuple[str, ...]
    db: str
    #: Relative to the repository, POSIX separators.
    manifest_dir: str
    stub_missing: bool = False

    def render(self, newline: str = "\n") -> str:
        items = ", ".join(json.dumps(element) for element in self.elements)
        lines = [
            "[tool.harness]",
            "# Written by `harness init`: plain `pytest` checks these Elements on a real",
            "# server and compares them with the reviewed manifests in manifest_dir",
            "# (`harness check <element> --update-manifests` rewrites them after a change).",
            f"elements = [{items}]",
            f"db = {json.dumps(self.db)}",
            f"manifest_dir = {json.dumps(self.manifest_dir)}",
        ]
        if self.stub_missing:
            lines.append("stub_missing = true")
        return newline.join(lines) + newline

    def agrees_with(self, table: dict[str, Any], path: Path) -> bool:
        """Whether an existing ``[tool.harness]`` table already says what this one says."""
        try:
            existing = resolve_settings({}, {}, table, path, known_extra_keys=frozenset())
            wanted = resolve_settings({}, {}, self.values(), path)
        except ConfigurationError:
            return False
        names = ("elements", "db", "manifest_dir", "stub_missing")
        return all(getattr(existing, name) == getattr(wanted, name) for name in names)

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "elements": list(self.elements),
            "db": self.db,
            "manifest_dir": self.manifest_dir,
        }
        if self.stub_missing:
            values["stub_missing"] = True
        return values


def _parse(raw: bytes, path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(
            f"{path}: not valid TOML: {exc}", hint="fix the file's syntax, then run harness init"
        ) from None


def _checked(content: bytes, path: Path, table: HarnessTable, what: str) -> bytes:
    """``content`` when it parses and its ``[tool.harness]`` is ``table``; else a clear error."""
    try:
        written = tomllib.loads(content.decode("utf-8")).get("tool", {}).get("harness")
    except tomllib.TOMLDecodeError as exc:
        written, problem = None, str(exc)
    else:
        problem = "the table would not read back as written"
    if written != table.values():
        raise ConfigurationError(
            f"{path}: {what} [tool.harness] would leave an invalid file ({problem})",
            hint="add the table by hand: " + " ".join(table.render().splitlines()),
        )
    return content


def plan_pyproject(repo: Path, table: HarnessTable, *, force: bool) -> PlannedFile:
    """Create pyproject.toml, append the table, leave it, keep a different one or replace it."""
    path = repo / "pyproject.toml"
    if not path.exists():
        # A setup.py project: a pyproject.toml without [build-system] builds as before.
        return PlannedFile(path, CREATE, table.render().encode("utf-8"))
    raw = path.read_bytes()
    existing = _parse(raw, path).get("tool", {}).get("harness")
    newline = b"\r\n" if b"\r\n" in raw else b"\n"
    block = table.render(newline.decode()).encode("utf-8")
    if existing is None:
        separator = b"" if not raw else (newline if raw.endswith(b"\n") else newline * 2)
        return PlannedFile(path, APPEND, _checked(raw + separator + block, path, table, "adding"))
    if isinstance(existing, dict) and table.agrees_with(existing, path):
        return PlannedFile(path, UNCHANGED, note="[tool.harness] already configured")
    if not force:
        return PlannedFile(
            path,
            KEPT,
            note="its [tool.harness] differs from " + _summary(table) + " (--force "
            "replaces the table, nothing else)",
        )
    header = _HEADER.search(raw)
    if header is None:
        raise ConfigurationError(
            f"{path}: [tool.harness] is not written as its own table, so --force cannot replace it",
            hint="edit it by hand to: " + " ".join(table.render().splitlines()),
        )
    following = _NEXT_TABLE.search(raw, header.end())
    end = following.start() if following else len(raw)
    tail = raw[end:]
    replacement = block + (newline if tail else b"")
    content = raw[: header.start()] + replacement + tail
    return PlannedFile(path, REPLACE, _checked(content, path, table, "replacing"), "[tool.harness]")


def _summary(table: HarnessTable) -> str:
    elements = ", ".join(table.elements)
    return f"elements [{elements}], db {table.db}, manifest_dir {table.manifest_dir}"
