"""What each attribute of a DataJoint heading holds, and values that fill it exactly.

DataJoint 0.14 describes an attribute by its MySQL type and flags (``is_blob``,
``is_attachment``, ``uuid``...); 2.x adds the core type it was declared with
(``original_type``: ``int8``, ``bool``) and a codec (``<blob>``, ``<attach@s>``).
:func:`column` folds both into one :class:`Column` whose ``kind`` says what to
insert. Values are drawn from a seeded :class:`random.Random`, at the edges of
the declared range where there is one (the largest integer, all decimal digits,
strings at their declared length), chosen so that a faithful server returns them
unchanged (floats exactly representable in single precision, no sub-second part
unless the type keeps it).

Text columns get a JSON string literal, which a MariaDB ``json`` column (a
``longtext`` with a ``json_valid`` check, plain text to DataJoint 0.14) accepts too.
A bare ``longblob`` under 2.x is a raw column, but it was written to hold what a
0.14 blob holds: it gets an array, so that the corruption shows (issue 1527).
"""

from __future__ import annotations

import datetime
import decimal
import random
import re
import string
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

INT_BITS = {"tinyint": 8, "smallint": 16, "mediumint": 24, "int": 32, "integer": 32, "bigint": 64}
CORE_INT_BITS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64}
CORE_UINT_BITS = {"uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64}
_BLOB_TYPES = {"tinyblob", "blob", "mediumblob", "longblob"}
_TEXT_TYPES = {"tinytext": 255, "text": 200, "mediumtext": 200, "longtext": 200}
_ALPHABET = string.ascii_lowercase + string.digits


@dataclass
class Column:
    """One attribute: its name, the type as declared, and what kind of value fills it."""

    name: str
    declared: str
    kind: str  # int, bool, decimal, float32, float64, string, enum, date, datetime, ...
    in_key: bool = False
    nullable: bool = False
    has_default: bool = False
    params: dict[str, Any] = field(default_factory=dict)


class UnknownType(Exception):
    """The synthesizer has no value for this declared type (a warning, not a pass)."""


def declared_type(attribute: Any) -> str:
    """The type as the definition spelt it: 2.x core type or codec, else the SQL type."""
    original = getattr(attribute, "original_type", None)
    return str(original or attribute.type)


def column(attribute: Any) -> Column:
    """Classify a heading attribute; raise :class:`UnknownType` when it cannot be filled."""
    declared = declared_type(attribute)
    base = Column(
        name=attribute.name,
        declared=declared,
        kind="",
        in_key=bool(attribute.in_key),
        nullable=bool(attribute.nullable),
        # A primary-key attribute with a default still needs a value of its own.
        has_default=attribute.default is not None
        and not attribute.nullable
        and not attribute.in_key,
    )
    codec = getattr(attribute, "codec", None)
    if codec is not None:
        name = str(getattr(codec, "name", ""))
        if name in {"blob", "attach", "filepath"}:
            base.kind = name
            base.params["store"] = attribute.store
            return base
        raise UnknownType(declared)
    if getattr(attribute, "adapter", None) is not None:
        raise UnknownType(declared)
    if getattr(attribute, "is_attachment", False):
        base.kind, base.params["store"] = "attach", attribute.store
        return base
    if getattr(attribute, "is_filepath", False):
        base.kind, base.params["store"] = "filepath", attribute.store
        return base
    if attribute.uuid:
        base.kind = "uuid"
        return base
    text = declared.strip().lower()
    if attribute.is_blob or text in _BLOB_TYPES:
        base.kind = "blob"
        return base
    if text == "bytes":
        base.kind = "bytes"
        return base
    if attribute.json or text in {"json", "jsonb"}:
        base.kind = "json"
        return base
    _classify_sql(text, base)
    return base


def _classify_sql(text: str, base: Column) -> None:
    text = text.replace(" without time zone", "")  # PostgreSQL's spelling of timestamp
    unsigned = text.endswith(" unsigned")
    bare = text.removesuffix(" unsigned").strip()
    bare = re.sub(r"\(\d+\)$", "", bare) if bare.split("(")[0] in INT_BITS else bare
    if bare in {"bool", "boolean"}:
        base.kind = "bool"
    elif bare in CORE_INT_BITS or bare in CORE_UINT_BITS or bare in INT_BITS:
        bits = CORE_INT_BITS.get(bare) or CORE_UINT_BITS.get(bare) or INT_BITS[bare]
        base.kind = "int"
        base.params.update(bits=bits, unsigned=unsigned or bare in CORE_UINT_BITS)
    elif match := re.fullmatch(r"(?:decimal|numeric)\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)", bare):
        base.kind = "decimal"
        base.params.update(precision=int(match[1]), scale=int(match[2]), unsigned=unsigned)
    elif bare in {"float", "float32", "real"}:
        base.kind = "float32"
    elif bare in {"double", "float64", "double precision"}:
        base.kind = "float64"
    elif match := re.fullmatch(
        r"(?:var)?char\s*\(\s*(\d+)\s*\)|character(?: varying)?\((\d+)\)", bare
    ):
        base.kind = "string"
        base.params["length"] = int(match[1] or match[2])
    elif bare in _TEXT_TYPES:
        base.kind = "text"
        base.params["length"] = _TEXT_TYPES[bare]
    elif bare.startswith("enum"):
        base.kind = "enum"
        # Values from the declaration as spelt, not lower-cased.
        spelt = base.declared if base.declared.lower().startswith("enum") else text
        base.params["values"] = re.findall(r"'((?:[^']|'')*)'", spelt)
        if not base.params["values"]:
            raise UnknownType(base.declared)
    elif bare == "date":
        base.kind = "date"
    elif match := re.fullmatch(r"(datetime|timestamp)(?:\s*\(\s*(\d)\s*\))?", bare):
        base.kind = match[1]
        base.params["precision"] = int(match[2] or 0)
    else:
        raise UnknownType(base.declared)


def _int_range(column: Column) -> tuple[int, int]:
    bits = column.params["bits"]
    if column.params["unsigned"]:
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _decimal_range(column: Column) -> tuple[decimal.Decimal, decimal.Decimal]:
    precision, scale = column.params["precision"], column.params["scale"]
    digits = "9" * (precision - scale) or "0"
    largest = decimal.Decimal(f"{digits}.{'9' * scale}" if scale else digits)
    return (decimal.Decimal(0) if column.params["unsigned"] else -largest), largest


def _moment(rng: random.Random, column: Column, first: int, last: int) -> datetime.datetime:
    start = datetime.datetime(first, 1, 1)
    seconds = rng.randrange(int((datetime.datetime(last, 1, 1) - start).total_seconds()))
    precision = column.params.get("precision", 0)
    micro = rng.randrange(10**precision) * 10 ** (6 - precision) if precision else 0
    return start + datetime.timedelta(seconds=seconds, microseconds=micro)


def synthesize(column: Column, rng: random.Random, row: int, files: Path) -> Any:
    """A value for ``column`` in synthesized row ``row`` (0: the edge of the range).

    ``files`` is where attachments are written and, for ``filepath``, the store's
    location (the value is then a path the store knows).
    """
    kind = column.kind
    if kind == "int":
        low, high = _int_range(column)
        return (high, low)[row] if row < 2 else rng.randint(low, high)
    if kind == "bool":
        return row % 2 == 0
    if kind == "decimal":
        low, high = _decimal_range(column)
        if row < 2:
            return (high, low)[row]
        scale = column.params["scale"]
        steps = int((high - low) * 10**scale)
        return low + decimal.Decimal(rng.randint(0, steps)).scaleb(-scale)
    if kind == "float32":
        return rng.randint(-4000, 4000) / 4  # six significant digits at most, exact in float32
    if kind == "float64":
        return rng.randint(-(2**50), 2**50) / 2**20
    if kind == "string":
        length = column.params["length"]
        return "".join(rng.choice(_ALPHABET) for _ in range(length))
    if kind == "text":
        # A JSON string literal: MariaDB declares json as longtext with a json_valid
        # check, which DataJoint 0.14 reads as plain longtext.
        return (
            '"' + "".join(rng.choice(_ALPHABET) for _ in range(column.params["length"] - 2)) + '"'
        )
    if kind == "enum":
        values = column.params["values"]
        return values[row % len(values)] if row < len(values) else rng.choice(values)
    if kind == "date":
        return _moment(rng, column, 1990, 2030).date()
    if kind == "datetime":
        return _moment(rng, column, 1990, 2030)
    if kind == "timestamp":
        return _moment(rng, column, 1990, 2037)
    if kind == "uuid":
        return uuid.UUID(int=rng.getrandbits(128), version=4)
    if kind == "json":
        return {"n": rng.randint(-1000, 1000), "items": [1, "two", 3.5, None, True], "inner": {}}
    if kind == "blob":
        return _blob(rng, row)
    if kind == "bytes":
        return rng.randbytes(32)
    if kind in {"attach", "filepath"}:
        name = f"{kind}-{column.name}-{row}-{rng.getrandbits(32):08x}.bin"
        path = files / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(64))
        return path
    raise UnknownType(column.declared)


def _blob(rng: random.Random, row: int) -> Any:
    import numpy

    if row % 2 == 0:
        values = [rng.randint(-1000, 1000) / 8 for _ in range(12)]
        return numpy.array(values, dtype=numpy.float64).reshape(3, 4)
    return {
        "label": "".join(rng.choice(_ALPHABET) for _ in range(8)),
        "counts": [rng.randint(0, 100) for _ in range(3)],
        "nested": {"trace": numpy.arange(5, dtype=numpy.int32) * rng.randint(1, 9)},
    }
