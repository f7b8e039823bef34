"""The state a plan was made from, and its fingerprint.

A saved plan is only what was reviewed while the target stays as it was. The
state is what a plan depends on, read with ``SELECT`` on the catalog: which of
the *affected schemas* exist (the pipeline's, those of the upstream tables its
tables reference, and, following foreign keys, those the existing tables
reference) and, in them, every DataJoint table (tier, columns with type,
nullability, default and comment, primary key, foreign keys) and the names of
the other tables (DataJoint's ``~log``, a lab's own). The fingerprint is the
SHA-256 of the state's canonical JSON (sorted keys, no whitespace, UTF-8), so
two reads of an unchanged target give the same fingerprint, and the stored
state tells what changed when they differ.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from harness.db.backends.base import Backend
from harness.deploy import ddl
from harness.deploy.live import existing_schemas, read_schemas
from harness.deploy.pipeline import LoadedElement
from harness.deploy.planner import DeployPlan
from harness.manifest import diff_manifests

#: Bumped when the canonical form changes: a plan of another format never matches.
STATE_FORMAT = 1


def _schema_of(full_name: str) -> str:
    return full_name.split(".", 1)[0]


def affected_schemas(elements: list[LoadedElement], plan: DeployPlan) -> list[str]:
    """The pipeline's schemas and those of every table its tables reference."""
    return referenced_schemas(
        [schema for element in elements for schema in element.schemas.values()], plan
    )


def referenced_schemas(pipeline_schemas: Iterable[str], plan: DeployPlan) -> list[str]:
    """``pipeline_schemas`` and those of every table the plan's tables reference."""
    schemas = set(pipeline_schemas)
    for element in plan.elements:
        for table in [*element.tables, *element.extra]:
            schemas.update(_schema_of(fk.parent) for fk in table.table.foreign_keys)
    return sorted(schemas)


@dataclass(frozen=True)
class TargetState:
    """What the affected schemas hold; :attr:`canonical` is what the fingerprint hashes."""

    canonical: Mapping[str, Any]

    @property
    def fingerprint(self) -> str:
        text = json.dumps(self.canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def schemas(self) -> list[str]:
        """The affected schemas that exist."""
        return [name for name, exists in self.canonical["schemas"].items() if exists]


def read_state(backend: Backend, connection: Any, schemas: Iterable[str]) -> TargetState:
    """The state of ``schemas`` and, transitively, of the schemas their tables reference."""
    wanted = set(schemas)
    tables = []
    read: set[str] = set()
    while wanted - read:
        batch = sorted(wanted - read)
        read.update(batch)
        found = read_schemas(backend, connection, batch)
        tables += found
        wanted.update(_schema_of(fk.parent) for table in found for fk in table.foreign_keys)
    present = existing_schemas(backend, connection, read)
    names = ddl.sql_names(tables)
    datajoint = {(t.schema, names[(t.schema, t.name)]) for t in tables}
    marks = ", ".join(["%s"] * len(read))
    rows = backend.query(
        connection,
        "SELECT table_schema, table_name FROM information_schema.tables "
        f"WHERE table_schema IN ({marks})",
        sorted(read),
    )
    other = sorted(f"{schema}.{name}" for schema, name in rows if (schema, name) not in datajoint)
    return TargetState(
        {
            "format": STATE_FORMAT,
            "schemas": {name: name in present for name in sorted(read)},
            "tables": sorted((t.to_dict() for t in tables), key=lambda t: (t["schema"], t["name"])),
            "other_tables": other,
        }
    )


def state_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """What differs from ``before`` (the plan's state) to ``after`` (now), one line each.

    ``+`` is there now and was not, ``-`` was there and is gone, ``~`` differs.
    """
    if before.get("format") != after.get("format"):
        return [f"~ state format {before.get('format')} -> {after.get('format')}"]
    lines = []
    old_schemas, new_schemas = before.get("schemas", {}), after.get("schemas", {})
    for name in sorted(set(old_schemas) | set(new_schemas)):
        was, now = old_schemas.get(name, False), new_schemas.get(name, False)
        if was != now:
            lines.append(f"{'+' if now else '-'} schema {name}")
    tables = [{"tables": side.get("tables", [])} for side in (before, after)]
    lines += [change.render() for change in diff_manifests(*tables)]
    old_other, new_other = set(before.get("other_tables", [])), set(after.get("other_tables", []))
    lines += [f"+ table {name} (not a DataJoint table)" for name in sorted(new_other - old_other)]
    lines += [f"- table {name} (not a DataJoint table)" for name in sorted(old_other - new_other)]
    return lines
