"""Table definitions: strings inside Python source, read line by line where they stand.

A definition is the value of a string literal; its attribute types are what 2.x
rejects or reads differently. To rewrite a type without reformatting anything,
every character of the value must map back to one character of the file: that
holds for a plain (or raw) literal whose body has no escapes, which is how
Elements write definitions. Any other literal is still analysed, its findings
placed at the literal's first line, but left for a person to edit.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from harness.port.text import SourceText

_LITERAL = re.compile(r'^([rRuU]?)("""|\'\'\'|"|\')(.*)\2$', re.DOTALL)
_INDEX = re.compile(r"^(unique\s+)?index\s*\(", re.IGNORECASE)
_NAME = re.compile(r"^[a-z_][a-z0-9_]*", re.IGNORECASE)


@dataclass(frozen=True)
class AttributeLine:
    """One attribute of a definition: its name, type and where the type stands."""

    name: str
    type: str
    in_key: bool
    line: int  # in the file
    column: int  # of the type, 1-based, in the file
    start: int | None  # character offsets of the type in the file; None: not mappable
    end: int | None
    text: str  # the definition line as written
    padding: int = 0  # spaces between the type and a comment on the same line


def literal_offsets(source: SourceText, node: ast.Constant) -> list[int] | None:
    """The file offset of every character of the string's value (and of its end).

    None when the value does not map 1:1 onto the body as written (escapes,
    implicit concatenation, f-strings). Python reads ``\\r\\n`` in a literal of a
    CRLF file as ``\\n``, mapped to where the ``\\r\\n`` starts, so such files map too.
    """
    if not isinstance(node.value, str):
        return None
    match = _LITERAL.match(source.segment(node))
    if match is None or match.group(3).replace("\r\n", "\n") != node.value:
        return None
    start, _ = source.span(node)
    position = start + len(match.group(1)) + len(match.group(2))
    body = match.group(3)
    offsets = []
    for index, char in enumerate(body):
        if char == "\n" and body[index - 1 : index] == "\r":
            continue  # the value's "\n" is this "\r\n", which starts at the "\r"
        offsets.append(position + index)
    offsets.append(position + len(body))
    return offsets


def _outside_quotes(text: str, wanted: str) -> int:
    """Index of the first ``wanted`` character not inside a quoted default; -1 if none."""
    quote = ""
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == wanted:
            return index
    return -1


def attribute_lines(source: SourceText, node: ast.Constant) -> Iterator[AttributeLine]:
    """Every attribute line of the definition ``node``, with its type's place in the file."""
    value: str = node.value
    offsets = literal_offsets(source, node)
    in_key = True
    position = 0
    for raw in value.split("\n"):
        line_offset = position
        position += len(raw) + 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or stripped.startswith("->"):
            continue
        if re.match(r"^-{3,}|^_{3,}", stripped):
            in_key = False
            continue
        if _INDEX.match(stripped):
            continue
        comment = _outside_quotes(raw, "#")
        head = raw if comment < 0 else raw[:comment]
        colon = _outside_quotes(head, ":")
        name = _NAME.match(head.strip())
        if colon < 0 or name is None:
            continue
        type_text = head[colon + 1 :]
        type_start_in_line = colon + 1 + (len(type_text) - len(type_text.lstrip()))
        attribute_type = type_text.strip()
        padding = len(type_text) - len(type_text.rstrip()) if comment >= 0 else 0
        if offsets is None:
            file_line, column, start, end = node.lineno, node.col_offset + 1, None, None
        else:
            index = line_offset + type_start_in_line
            start, end = offsets[index], offsets[index + len(attribute_type)]
            file_line, column = source.position(start)
        yield AttributeLine(
            name=name.group(0),
            type=attribute_type,
            in_key=in_key,
            line=file_line,
            column=column,
            start=start,
            end=end,
            text=stripped,
            padding=padding,
        )


_BLOB = re.compile(r"^(tiny|small|medium|long)?blob$", re.IGNORECASE)
_EXTERNAL = re.compile(r"^(blob|filepath)@(\w+)$", re.IGNORECASE)
_ATTACH = re.compile(r"^attach(@(\w+))?$", re.IGNORECASE)
_ENUM = re.compile(r"^enum\s*\((.*)\)$", re.IGNORECASE | re.DOTALL)
#: MySQL-only native types with a core type that is the same column on MySQL.
_SAME_ON_MYSQL = {"tinyint": "int8", "double": "float64"}
_MYSQL_ONLY = re.compile(
    r"^((tiny|small|medium|big)?int(eger)?|decimal|numeric|float|double|real)\b.*\bunsigned\b"
    r"|^mediumint\b|^(tiny|medium|long)text$|^year\b|^(tiny|small|medium|big)?int\s*\(\d+\)",
    re.IGNORECASE,
)


def type_rule(attribute_type: str) -> tuple[str, str | None, str] | None:
    """(rule id, 2.x type or None, advice) for a 0.14 type 2.x rejects or reads otherwise.

    The 2.x type is None when no replacement keeps the column as it is (a person
    chooses); the advice then says what to consider.
    """
    text = attribute_type.strip()
    lower = text.lower()
    if lower == "boolean":
        return "type-boolean", "bool", ""
    attach = _ATTACH.match(text)
    if attach:
        store = attach.group(2)
        return "type-attach", f"<attach@{store}>" if store else "<attach>", ""
    external = _EXTERNAL.match(text)
    if external:
        return "type-external", f"<{external.group(1).lower()}@{external.group(2)}>", ""
    if _BLOB.match(text):
        return "type-native-blob", "<blob>", ""
    enum = _ENUM.match(text)
    if enum:
        values = enum.group(1)
        if '"' in values and "'" not in values:
            return "type-enum-quotes", f"enum({values.replace(chr(34), chr(39))})", ""
        return None
    if lower in _SAME_ON_MYSQL:
        return "type-mysql-only", _SAME_ON_MYSQL[lower], ""
    if _MYSQL_ONLY.match(text):
        return "type-mysql-only", None, _mysql_only_advice(lower)
    return None


def _mysql_only_advice(lower: str) -> str:
    if "unsigned" in lower:
        if lower.startswith(("decimal", "numeric", "float", "double", "real")):
            return "drop unsigned (MySQL 8 deprecates it here) and check the range in make()"
        widths = {"tinyint": "int16", "smallint": "int32", "int": "int64", "integer": "int64"}
        base = lower.split()[0].split("(")[0]
        wider = widths.get(base, "int64 (narrower than bigint unsigned: check the range)")
        return f"{wider}: the next wider signed core type (the MySQL column changes)"
    if lower.startswith("mediumint"):
        return "int32 (the MySQL column widens from mediumint to int)"
    if lower.endswith("text"):
        return "varchar(N) with a bound, or json for structured text"
    if "(" in lower:
        return "the type without its display width (int32 for int(11))"
    return "a date or int16"


def retyped(attribute: AttributeLine, new_type: str) -> tuple[int, str]:
    """(end offset, text) that replace the type and keep a trailing comment's column.

    Aligned comments stay aligned: a shorter type gives its width to the spaces
    before the comment, a longer one takes it from them, down to one space.
    """
    assert attribute.end is not None
    if not attribute.padding:
        return attribute.end, new_type
    width = len(attribute.type) + attribute.padding
    spaces = max(width - len(new_type), 1)
    return attribute.end + attribute.padding, new_type + " " * spaces
