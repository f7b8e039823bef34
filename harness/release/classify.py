"""Breaking or additive: the verdict on each change between two releases' manifests.

A change is *breaking* when a pipeline built on the old release could no longer
insert, fetch or join as before (a table or attribute removed, a primary key,
tier or foreign key changed, a type narrowed, a required attribute added),
*additive* otherwise. Types are compared by family and range, so ``int`` to
``bigint`` widens and ``varchar(64)`` to ``varchar(32)`` narrows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.manifest import Change

BREAKING, ADDITIVE = "breaking", "additive"


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
    if match := _ENUM.match(sql):
        return "enum", frozenset(re.findall(r"'((?:[^']|'')*)'", match.group(1)))
    return sql, None


def type_change(old: str, new: str) -> str:
    """``widened`` (every old value fits), ``narrowed`` (some do not) or ``changed``."""
    (family_a, a), (family_b, b) = _family(old), _family(new)
    if family_a != family_b or a is None or b is None:
        return "widened" if family_a == family_b and a == b else "changed"
    if family_a == "integer":
        fits = b[0] <= a[0] and a[1] <= b[1]
    elif family_a == "decimal":
        fits = b[0] >= a[0] and b[1] >= a[1]
    elif family_a == "enum":
        fits = a <= b
    else:
        fits = b >= a
    return "widened" if fits else "narrowed"


@dataclass(frozen=True)
class Classified:
    """One change with its verdict and the reason, in words."""

    change: Change
    verdict: str
    reason: str


def _attributes(manifest: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        f"{table['schema']}.{table['name']}.{attribute['name']}": attribute
        for table in manifest.get("tables", [])
        for attribute in table.get("attributes", [])
    }


def _fk_children(text: str) -> str:
    """The child attributes of a rendered foreign key: ``-> parent (a, b=c)`` -> ``a,b``."""
    inside = text[text.find("(") + 1 : text.rfind(")")]
    return ",".join(sorted(part.split("=")[0].strip() for part in inside.split(",")))


def _classify_one(
    change: Change,
    old: Mapping[str, Mapping[str, Any]],
    new: Mapping[str, Mapping[str, Any]],
    removed_fks: set[tuple[str, str]],
) -> tuple[str, str]:
    removed = {"table": "table removed", "attribute": "attribute removed"}
    if change.op == "-":
        return BREAKING, removed.get(change.kind, f"{change.kind} removed")
    if change.kind in ("tier", "primary key"):
        return BREAKING, f"{change.kind} changed"
    if change.op == "+" and change.kind == "attribute":
        added = new.get(change.subject, {})
        if not added.get("nullable") and added.get("default") is None:
            return BREAKING, "required attribute added without a default"
        return ADDITIVE, "optional attribute added"
    if change.op == "+" and change.kind == "foreign key":
        if (change.subject, _fk_children(change.detail)) in removed_fks:
            return BREAKING, "foreign key changed"
        return ADDITIVE, "foreign key added"
    if change.op == "+":
        return ADDITIVE, f"{change.kind} added"
    before, after = old.get(change.subject, {}), new.get(change.subject, {})
    if change.kind in ("type", "core_type"):
        if not before.get(change.kind) or not after.get(change.kind):
            return ADDITIVE, f"{change.kind.replace('_', ' ')} recorded"
        verdict = type_change(str(before[change.kind]), str(after[change.kind]))
        return (ADDITIVE if verdict == "widened" else BREAKING), f"type {verdict}"
    if change.kind == "nullable":
        if before.get("nullable") and not after.get("nullable"):
            return BREAKING, "attribute made non-nullable"
        return ADDITIVE, "attribute made nullable"
    if change.kind == "default":
        if after.get("default") is None and not after.get("nullable"):
            return BREAKING, "default removed from a required attribute"
        return ADDITIVE, "default changed"
    return ADDITIVE, f"{change.kind} changed"


def classify(
    changes: Sequence[Change], old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[Classified]:
    """Each change of ``diff_manifests(old, new)`` with its verdict."""
    before, after = _attributes(old), _attributes(new)
    removed_fks = {
        (change.subject, _fk_children(change.detail))
        for change in changes
        if change.op == "-" and change.kind == "foreign key"
    }
    result = []
    for change in changes:
        verdict, reason = _classify_one(change, before, after, removed_fks)
        result.append(Classified(change, verdict, reason))
    return result
