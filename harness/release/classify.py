"""The verdict on each change between two releases' manifests, by the rules of Atlas and Skeema.

Labs' database administrators trust two schema tools, so a release check
speaks their language rather than inventing its own:

- *breaking*: a pipeline built on the old release can no longer insert, fetch
  or join as before, or existing data would be lost or changed (Atlas's
  destructive and backward-incompatible analyzers, Skeema's unsafe changes);
- *data-dependent*: the change succeeds or fails depending on the rows already
  there (Atlas's data-dependent analyzers: a unique index over existing
  attributes, a required attribute without a default, and, by the same
  reasoning, a foreign key added to an existing table);
- *additive*: everything else, which only adds or relaxes;
- *migration*: only between DataJoint lines (``--from-datajoint 0.14.10
  --to-datajoint 2.3.5``): a difference in DataJoint 2's type markers or codecs,
  which a database declared by the old release needs as a migration step, see
  :mod:`harness.release.crossversion`.

Every verdict carries the rule it follows (``docs/release-rules.md`` lists them).
A likely rename (in one table, exactly one attribute of a type removed and
exactly one of the same type added) is reported as one rename, not as a removal
plus an addition. Types are compared by family and range, so ``int`` to
``bigint`` widens and ``varchar(64)`` to ``varchar(32)`` narrows; an enum widens
only when values are appended.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.manifest import Change
from harness.release import crossversion

BREAKING, DATA_DEPENDENT, ADDITIVE = "breaking", "data-dependent", "additive"
MIGRATION = crossversion.MIGRATION
#: The verdicts in the order reports list them.
VERDICTS = (BREAKING, DATA_DEPENDENT, MIGRATION, ADDITIVE)
RENAMED = "attribute renamed"

_INT_BYTES = {"tinyint": 1, "smallint": 2, "mediumint": 3, "int": 4, "integer": 4, "bigint": 8}
_CORE = {
    "int8": "tinyint",
    "int16": "smallint",
    "int32": "int",
    "int64": "bigint",
    "uint8": "tinyint unsigned",
    "uint16": "smallint unsigned",
    "uint32": "int unsigned",
    "uint64": "bigint unsigned",
    "float32": "float",
    "float64": "double",
    "bool": "tinyint",
}
_FLOAT_BYTES = {"float": 4, "double": 8, "real": 8, "double precision": 8}
_LENGTHS = {
    "tinytext": 255,
    "text": 65_535,
    "mediumtext": 16_777_215,
    "longtext": 4_294_967_295,
    "tinyblob": 255,
    "blob": 65_535,
    "mediumblob": 16_777_215,
    "longblob": 4_294_967_295,
}
_NUMBER = re.compile(r"(tinyint|smallint|mediumint|bigint|integer|int)(\(\d+\))?( unsigned)?\Z")
_SIZED = re.compile(r"(var)?(char|binary)\((\d+)\)\Z")
_DECIMAL = re.compile(r"(decimal|numeric)\((\d+)(?:,\s*(\d+))?\)( unsigned)?\Z")
_TEMPORAL = re.compile(r"(datetime|timestamp|time)(?:\((\d)\))?\Z")
_ENUM = re.compile(r"enum\((.*)\)\Z")


def enum_values(text: str) -> tuple[str, ...] | None:
    """The values of ``enum('a','b')`` in declared order (the order is stored: it is the index)."""
    match = _ENUM.match(text.strip().lower())
    if match is None:
        return None
    return tuple(re.findall(r"'((?:[^']|'')*)'", match.group(1)))


def _int_range(match: re.Match[str]) -> tuple[int, int]:
    bits = 8 * _INT_BYTES[match.group(1)]
    if match.group(3):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _family(text: str) -> tuple[str, Any]:
    """A type as (family, measure): comparable measures within a family."""
    sql = _CORE.get(text.strip().lower(), text.strip().lower())
    if match := _NUMBER.match(sql):
        return "integer", _int_range(match)
    if sql in _FLOAT_BYTES:
        return "float", _FLOAT_BYTES[sql]
    if match := _SIZED.match(sql):
        family = "binary" if match.group(2) == "binary" else "text"
        return family, int(match.group(3))
    if sql in _LENGTHS:
        return ("binary" if "blob" in sql else "text"), _LENGTHS[sql]
    if match := _DECIMAL.match(sql):
        digits, scale = int(match.group(2)), int(match.group(3) or 0)
        return "decimal", (digits - scale, scale)
    if match := _TEMPORAL.match(sql):
        return match.group(1), int(match.group(2) or 0)
    if (values := enum_values(sql)) is not None:
        return "enum", values
    return sql, None


def type_change(old: str, new: str) -> str:
    """``widened`` (every old value fits, as before), ``narrowed`` (some do not) or ``changed``.

    An enum widens only when the old values are a prefix of the new ones (Skeema:
    appending is the one safe enum change); a value removed narrows it, and
    values reordered or inserted before existing ones renumber what is stored:
    ``reordered``.
    """
    (family_a, a), (family_b, b) = _family(old), _family(new)
    if family_a != family_b or a is None or b is None:
        return "widened" if family_a == family_b and a == b else "changed"
    if family_a == "integer":
        fits = b[0] <= a[0] and a[1] <= b[1]
    elif family_a == "decimal":
        fits = b[0] >= a[0] and b[1] >= a[1]
    elif family_a == "enum":
        if b[: len(a)] == a:
            return "widened"
        return "reordered" if set(a) <= set(b) else "narrowed"
    else:
        fits = b >= a
    return "widened" if fits else "narrowed"


@dataclass(frozen=True)
class Classified:
    """One change with its verdict, the reason in words, and the rule it follows."""

    change: Change
    verdict: str
    reason: str
    rule: str = "harness"


def _tables(manifest: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {f"{t['schema']}.{t['name']}": t for t in manifest.get("tables", [])}


def _attributes(manifest: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        f"{name}.{attribute['name']}": attribute
        for name, table in _tables(manifest).items()
        for attribute in table.get("attributes", [])
    }


def _key_attributes(*tables: Mapping[str, Any] | None) -> set[str]:
    """Attributes of the primary key or of a unique index, in either release."""
    keys: set[str] = set()
    for table in tables:
        if table is None:
            continue
        keys.update(table.get("primary_key", []))
        for index in table.get("unique_indexes", []) or []:
            keys.update(index)
    return keys


def _fk_children(text: str) -> str:
    """The child attributes of a rendered foreign key: ``-> parent (a, b=c)`` -> ``a,b``."""
    inside = text[text.find("(") + 1 : text.rfind(")")]
    return ",".join(sorted(part.split("=")[0].strip() for part in inside.split(",")))


def _index_columns(text: str) -> list[str]:
    """``(a, b)`` -> ``[a, b]``."""
    return [part.strip() for part in text.strip("()").split(",") if part.strip()]


def find_renames(
    changes: Sequence[Change], old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[Change]:
    """``changes`` with each likely rename's removal and addition replaced by one change.

    Per table and SQL type: exactly one attribute of that type removed and exactly
    one added. Two of a type on either side are ambiguous and stay as they are.
    """
    before, after = _attributes(old), _attributes(new)
    removed: dict[tuple[str, str], list[Change]] = {}
    added: dict[tuple[str, str], list[Change]] = {}
    for change in changes:
        if change.kind != "attribute" or change.op not in "+-":
            continue
        table, _ = change.subject.rsplit(".", 1)
        source = before if change.op == "-" else after
        key = (table, str(source.get(change.subject, {}).get("type")))
        (removed if change.op == "-" else added).setdefault(key, []).append(change)
    pairs = {
        gone[0]: added[key][0]
        for key, gone in removed.items()
        if len(gone) == 1 and len(added.get(key, [])) == 1
    }
    replaced = set(pairs.values())
    result = []
    for change in changes:
        if change in replaced:
            continue
        if change in pairs:
            new_name = pairs[change].subject.rsplit(".", 1)[1]
            change = Change("~", RENAMED, change.subject, f"-> {new_name} {change.detail}")
        result.append(change)
    return result


class _Classifier:
    """The rules, with both manifests at hand (attributes, tables, removed foreign keys)."""

    def __init__(
        self, changes: Sequence[Change], old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> None:
        self.before, self.after = _attributes(old), _attributes(new)
        self.old_tables, self.new_tables = _tables(old), _tables(new)
        self.cross = crossversion.crosses_lines(old, new)
        self.removed_fks = {
            (change.subject, _fk_children(change.detail))
            for change in changes
            if change.op == "-" and change.kind == "foreign key"
        }

    def classify(self, change: Change) -> Classified:
        if self.cross:
            step = crossversion.migration_step(
                change, self.before.get(change.subject, {}), self.after.get(change.subject, {})
            )
            if step is not None:
                return Classified(change, MIGRATION, *step)
        verdict, reason, rule = self._rule(change)
        return Classified(change, verdict, reason, rule)

    def _rule(self, change: Change) -> tuple[str, str, str]:
        if change.kind == "table":
            if change.op == "-":
                return BREAKING, "table dropped", "Atlas DS102, Skeema"
            return ADDITIVE, "table added", "Atlas, Skeema: safe"
        if change.kind == RENAMED:
            return (
                BREAKING,
                "likely rename (one attribute of this type dropped, one added)",
                ("Atlas BC102, Skeema"),
            )
        if change.kind == "attribute":
            return self._attribute(change)
        if change.kind in ("tier", "primary key"):
            return BREAKING, f"{change.kind} changed", "harness"
        if change.kind == "foreign key":
            return self._foreign_key(change)
        if change.kind == "unique index":
            return self._unique_index(change)
        return self._modified(change)

    def _attribute(self, change: Change) -> tuple[str, str, str]:
        if change.op == "-":
            return BREAKING, "attribute dropped", "Atlas DS103, Skeema"
        added = self.after.get(change.subject, {})
        if not added.get("nullable") and added.get("default") is None:
            return (
                DATA_DEPENDENT,
                "required attribute added without a default to an existing table",
                "Atlas MF103",
            )
        return ADDITIVE, "optional attribute added", "Atlas, Skeema: safe"

    def _foreign_key(self, change: Change) -> tuple[str, str, str]:
        if change.op == "-":
            return BREAKING, "foreign key dropped", "Atlas CD101"
        if (change.subject, _fk_children(change.detail)) in self.removed_fks:
            return (
                BREAKING,
                "foreign key changed (its attributes now reference another table)",
                ("Atlas CD101"),
            )
        return (
            DATA_DEPENDENT,
            "foreign key added to an existing table: existing rows must reference the parent",
            "Atlas data-dependent class",
        )

    def _unique_index(self, change: Change) -> tuple[str, str, str]:
        if change.op == "-":
            return ADDITIVE, "unique index dropped (a constraint relaxed)", "Atlas, Skeema: safe"
        existing = {
            a["name"] for a in self.old_tables.get(change.subject, {}).get("attributes", [])
        }
        if existing & set(_index_columns(change.detail)):
            return (
                DATA_DEPENDENT,
                "unique index added over existing attributes: existing rows may repeat",
                "Atlas MF101",
            )
        return ADDITIVE, "unique index added over new attributes only", "Atlas MF101: not flagged"

    def _modified(self, change: Change) -> tuple[str, str, str]:
        before, after = self.before.get(change.subject, {}), self.after.get(change.subject, {})
        kind = change.kind
        if kind in ("type", "core_type"):
            if not before.get(kind) or not after.get(kind):
                return ADDITIVE, f"{kind.replace('_', ' ')} recorded", "harness"
            verdict = type_change(str(before[kind]), str(after[kind]))
            if verdict == "widened":
                return ADDITIVE, "type widened", "Skeema: safe"
            if enum_values(str(before[kind])) is not None and verdict != "changed":
                reason = "enum value removed" if verdict == "narrowed" else "enum values reordered"
                return BREAKING, reason, "Skeema"
            return BREAKING, f"type {verdict}", "Skeema"
        if kind == "nullable":
            if before.get("nullable") and not after.get("nullable"):
                return BREAKING, "NOT NULL where it was nullable", "Atlas MF104, Skeema"
            return ADDITIVE, "attribute made nullable", "Atlas, Skeema: safe"
        if kind == "default":
            if after.get("default") is None and not after.get("nullable"):
                return BREAKING, "default removed from a required attribute", "harness"
            return ADDITIVE, "default changed", "harness"
        if kind == "charset":
            return BREAKING, "character set changed", "Skeema"
        if kind == "collation":
            table, attribute = change.subject.rsplit(".", 1)
            keys = _key_attributes(self.old_tables.get(table), self.new_tables.get(table))
            if attribute in keys:
                return BREAKING, "collation changed on a key attribute", "Skeema"
            return ADDITIVE, "collation changed on an attribute outside every key", "Skeema: safe"
        return ADDITIVE, f"{kind} changed", "harness"


def classify(
    changes: Sequence[Change], old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[Classified]:
    """Each change of ``diff_manifests(old, new)`` with its verdict, likely renames merged.

    Within one DataJoint line a core type that changes with the column's type
    (DataJoint 2: ``int32`` -> ``int64`` with ``int`` -> ``bigint``) says the same
    thing twice; the type change alone is kept. Across lines it is a marker step.
    """
    merged = find_renames(changes, old, new)
    if not crossversion.crosses_lines(old, new):
        retyped = {change.subject for change in merged if change.kind == "type"}
        merged = [c for c in merged if not (c.kind == "core_type" and c.subject in retyped)]
    classifier = _Classifier(merged, old, new)
    return [classifier.classify(change) for change in merged]


def overall(classified: Sequence[Classified]) -> str:
    """The verdict of the whole release: its most serious change's (``compatible`` if none)."""
    verdicts = {item.verdict for item in classified}
    for verdict, status in (
        (BREAKING, "breaking"),
        (DATA_DEPENDENT, "data-dependent"),
        (MIGRATION, "migration"),
    ):
        if verdict in verdicts:
            return status
    return "compatible"
