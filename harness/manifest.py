"""Reviewed records of what an Element release declares, and diffs between them.

A manifest is the catalog of one Element release (tables, tiers, keys,
attributes, foreign keys, dependency edges) written in a stable, sorted JSON
form, one file per release and DataJoint major version under
``elements/manifests/``. It is committed and reviewed like code; a check whose
catalog departs from it fails with a readable diff:

    + table session.SessionNote
    - attribute session.Session.session_time
    ~ type scan.ScanInfo.fps float -> double
    ~ primary key session.Session [subject, session_id] -> [subject, session_datetime]
    - foreign key session.Session -> mock.Subject (subject)
    + unique index session.Session (session_datetime)

Fields added after the first manifests were written are optional and written
only where they hold something, so older reviewed manifests still load and,
for tables without them, still match byte for byte: an attribute's ``charset``
and ``collation`` (only where a column departs from its schema's default, which
DataJoint's declarations never do) and a table's ``unique_indexes`` (absent:
none).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import resources
from harness.db.backends import get_backend
from harness.db.catalog import Table
from harness.errors import ConfigurationError

FORMAT = 1
MANIFEST_DIR = resources.manifests_dir()


def manifest_path(
    name: str,
    version: str | None,
    datajoint_major: int,
    directory: Path | None = None,
    backend: str = "mysql",
) -> Path:
    """``elements/manifests/<name>-<version>.dj<major>[.postgresql].json``.

    MySQL and MariaDB share one manifest (their spellings are normalised);
    PostgreSQL's types and defaults differ in ways that matter, so it has its own.
    """
    stem = f"{name}-{version}" if version else name
    family = get_backend(backend).manifest_family
    return (directory or MANIFEST_DIR) / f"{stem}.dj{datajoint_major}{family}.json"


def manifest_dirs(manifest_dir: Path | None, default: Path, *, fall_back: bool) -> tuple[Path, ...]:
    """Where a manifest is looked for, in order; the first is where one is written.

    Without ``manifest_dir`` it is ``default`` alone (the spec's ``elements/manifests/``,
    the bundled manifests for bundled specs). With it, that directory comes first and
    ``default`` follows only when ``fall_back``: a spec name's reviewed release stays
    checkable from any repository, while an Element's own repository, whose targets
    have no spec, compares with its own manifests and nothing else.
    """
    if manifest_dir is None:
        return (default,)
    if fall_back and default.resolve() != manifest_dir.resolve():
        return (manifest_dir, default)
    return (manifest_dir,)


def find_manifest(
    name: str,
    version: str | None,
    datajoint_major: int,
    directories: tuple[Path, ...],
    backend: str = "mysql",
) -> tuple[Path, Path | None]:
    """``(where it belongs, where it was found or None)`` along ``directories``."""
    paths = [manifest_path(name, version, datajoint_major, d, backend) for d in directories]
    return paths[0], next((path for path in paths if path.is_file()), None)


def _table_entry(table: Table) -> dict[str, Any]:
    return {
        "schema": table.schema,
        "name": table.name,
        "tier": table.tier,
        "master": table.master,
        "primary_key": list(table.primary_key),
        "attributes": [
            {
                "name": a.name,
                "type": a.type,
                "nullable": a.nullable,
                "default": a.default,
                "comment": a.comment,
                **({"core_type": a.core_type} if a.core_type else {}),
                **({"charset": a.charset} if a.charset else {}),
                **({"collation": a.collation} if a.collation else {}),
            }
            for a in table.attributes
        ],
        # Written only when there are some, so manifests of tables without keep their bytes.
        **({"unique_indexes": table.unique_indexes} if table.unique_indexes else {}),
        "foreign_keys": sorted(
            (
                {
                    "parent": fk.parent,
                    "attributes": dict(sorted(fk.attributes.items())),
                    "nullable": fk.nullable,
                }
                for fk in table.foreign_keys
            ),
            key=lambda fk: (fk["parent"], sorted(fk["attributes"].items())),
        ),
    }


def build_manifest(
    name: str,
    version: str | None,
    datajoint_major: int,
    tables: Iterable[Table],
    mocked: Mapping[str, str],
) -> dict[str, Any]:
    """The manifest of a catalog: server-independent, sorted, secrets-free."""
    entries = sorted((_table_entry(t) for t in tables), key=lambda t: (t["schema"], t["name"]))
    edges = sorted(
        {(f"{t['schema']}.{t['name']}", fk["parent"]) for t in entries for fk in t["foreign_keys"]}
    )
    return {
        "format": FORMAT,
        "element": name,
        "version": version,
        "datajoint_major": datajoint_major,
        "schemas": sorted({t["schema"] for t in entries}),
        "mocked_upstream": sorted(mocked),
        "tables": entries,
        "dependencies": [list(edge) for edge in edges],
    }


def dumps(manifest: Mapping[str, Any]) -> str:
    """One canonical text per manifest: same content, byte-identical file."""
    return json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_manifest(manifest: Mapping[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(manifest), encoding="utf-8")


def load_manifest(path: Path) -> dict[str, Any]:
    """A manifest file, or a report whose single element is compared; clear errors otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(
            f"manifest {path} does not exist", hint="write it with --update-manifests"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(
            f"{path} is not a JSON manifest: {exc}", hint="regenerate it with --update-manifests"
        ) from None
    if not isinstance(data, dict) or "tables" not in data:
        raise ConfigurationError(
            f"{path} holds no 'tables': not a manifest",
            hint="regenerate it with --update-manifests",
        )
    problem = _shape_problem(data["tables"])
    if problem:
        raise ConfigurationError(
            f"{path} is a malformed manifest: {problem}",
            hint="regenerate it with --update-manifests (manifests are written, not hand-edited)",
        )
    return data


def _shape_problem(tables: Any) -> str | None:
    """What is wrong with a manifest's ``tables`` (None when the diff can read them).

    Manifests are committed and sometimes hand-merged; a broken one must be an
    error naming the entry, not a ``TypeError`` from deep inside the diff.
    """
    if not isinstance(tables, list):
        return f"'tables' must be a list, got {type(tables).__name__}"
    for position, table in enumerate(tables):
        where = f"tables[{position}]"
        if not isinstance(table, dict):
            return f"{where} must be an object, got {type(table).__name__}"
        for key in ("schema", "name"):
            if not isinstance(table.get(key), str):
                return f"{where} has no string {key!r}"
        for key in ("primary_key", "attributes", "foreign_keys"):
            if not isinstance(table.get(key, []), list):
                return f"{where}.{key} must be a list"
        for attribute in table.get("attributes", []):
            if not (isinstance(attribute, dict) and {"name", "type"} <= set(attribute)):
                return f"{where}.attributes holds an entry without 'name' and 'type'"
        unique = table.get("unique_indexes") or []
        if not (isinstance(unique, list) and all(isinstance(i, list) for i in unique)):
            return f"{where}.unique_indexes must be a list of attribute lists"
        for fk in table.get("foreign_keys", []):
            if not (
                isinstance(fk, dict)
                and isinstance(fk.get("parent"), str)
                and isinstance(fk.get("attributes"), dict)
            ):
                return f"{where}.foreign_keys holds an entry without 'parent' and 'attributes'"
    return None


@dataclass(frozen=True)
class Change:
    """One difference between two manifests."""

    op: str  # "+", "-", "~"
    kind: str  # table, attribute, type, nullable, default, primary key, foreign key, tier, ...
    subject: str
    detail: str = ""

    def render(self) -> str:
        text = f"{self.op} {self.kind} {self.subject}"
        return f"{text} {self.detail}" if self.detail else text


def _fk_text(fk: Mapping[str, Any]) -> str:
    pairs = ", ".join(a if a == b else f"{a}={b}" for a, b in sorted(fk["attributes"].items()))
    nullable = " nullable" if fk.get("nullable") else ""
    return f"-> {fk['parent']} ({pairs}){nullable}"


def _index_text(columns: Iterable[str]) -> str:
    return f"({', '.join(columns)})"


def diff_manifests(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every difference from ``old`` to ``new``, in a stable order."""

    def index(manifest: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
        return {f"{t['schema']}.{t['name']}": t for t in manifest.get("tables", [])}

    before, after = index(old), index(new)
    changes: list[Change] = []
    for name in sorted(set(before) | set(after)):
        if name not in after:
            changes.append(Change("-", "table", name))
            continue
        if name not in before:
            changes.append(Change("+", "table", name))
            continue
        changes.extend(_diff_table(name, before[name], after[name]))
    return changes


def _diff_table(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    changes: list[Change] = []
    if old.get("tier") != new.get("tier"):
        changes.append(Change("~", "tier", name, f"{old.get('tier')} -> {new.get('tier')}"))
    if list(old.get("primary_key", [])) != list(new.get("primary_key", [])):
        changes.append(
            Change(
                "~",
                "primary key",
                name,
                f"[{', '.join(old.get('primary_key', []))}] -> "
                f"[{', '.join(new.get('primary_key', []))}]",
            )
        )
    old_attrs = {a["name"]: a for a in old.get("attributes", [])}
    new_attrs = {a["name"]: a for a in new.get("attributes", [])}
    for attr in sorted(set(old_attrs) | set(new_attrs)):
        subject = f"{name}.{attr}"
        if attr not in new_attrs:
            changes.append(Change("-", "attribute", subject, old_attrs[attr]["type"]))
            continue
        if attr not in old_attrs:
            added = new_attrs[attr]
            detail = (
                added["type"]
                + ("" if added["nullable"] else " not null")
                + ("" if added.get("default") is None else f" default {added['default']}")
            )
            changes.append(Change("+", "attribute", subject, detail))
            continue
        a, b = old_attrs[attr], new_attrs[attr]
        for key in ("type", "nullable", "default", "core_type", "comment", "charset", "collation"):
            if a.get(key) != b.get(key):
                changes.append(Change("~", key, subject, f"{a.get(key)} -> {b.get(key)}"))
    # Absent: none (manifests omit an empty list); None: not read (a catalog of PostgreSQL).
    old_indexes, new_indexes = old.get("unique_indexes", []), new.get("unique_indexes", [])
    if old_indexes is not None and new_indexes is not None:
        old_unique = {_index_text(index) for index in old_indexes}
        new_unique = {_index_text(index) for index in new_indexes}
        changes.extend(
            Change("-", "unique index", name, text) for text in sorted(old_unique - new_unique)
        )
        changes.extend(
            Change("+", "unique index", name, text) for text in sorted(new_unique - old_unique)
        )
    old_fks = {_fk_text(fk) for fk in old.get("foreign_keys", [])}
    new_fks = {_fk_text(fk) for fk in new.get("foreign_keys", [])}
    changes.extend(Change("-", "foreign key", name, text) for text in sorted(old_fks - new_fks))
    changes.extend(Change("+", "foreign key", name, text) for text in sorted(new_fks - old_fks))
    return changes


def render_diff(changes: Iterable[Change]) -> str:
    return "\n".join(change.render() for change in changes)


def manifests_in(path: Path) -> dict[str, dict[str, Any]]:
    """Manifests by Element name, from a manifest file or a ``harness check --json`` report."""
    data = load_manifest(path) if path.suffix == ".json" and _is_manifest(path) else None
    if data is not None:
        return {data.get("element") or path.stem: data}
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(
            f"{path} does not exist", hint="give files written by --update-manifests or --json"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(
            f"{path} is neither a manifest nor a JSON report: {exc}",
            hint="give files written by --update-manifests or --json",
        ) from None
    if not isinstance(report, dict) or not isinstance(report.get("elements"), list):
        raise ConfigurationError(
            f"{path} is neither a manifest nor a JSON report",
            hint="give files written by --update-manifests or --json",
        )
    result = {}
    try:
        major = int(str(report.get("environment", {}).get("datajoint", "0")).split(".")[0])
        for element in report["elements"]:
            problem = _shape_problem(element.get("tables", []))
            if problem:
                raise ValueError(problem)
            tables = [Table.from_dict(table) for table in element.get("tables", [])]
            result[element["name"]] = build_manifest(
                element["name"],
                element.get("version"),
                major,
                tables,
                element.get("mocked", {}).get("tables", {}),
            )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigurationError(
            f"{path} is a malformed JSON report: {type(exc).__name__}: {exc}",
            hint="give a report written by `harness check --json`, unedited",
        ) from None
    return result


def _is_manifest(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and "tables" in data and "elements" not in data
