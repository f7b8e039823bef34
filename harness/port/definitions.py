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


def literal_body_offset(source: SourceText, node: ast.Constant) -> int | None:
    """The file offset of the first character of the string's value, if it maps 1:1."""
    if not isinstance(node.value, str):
        return None
    match = _LITERAL.match(source.segment(node))
    if match is None or match.group(3) != node.value:
        return None  # implicit concatenation, escapes, f-string: positions would lie
    start, _ = source.span(node)
    return start + len(match.group(1)) + len(match.group(2))


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
    body = literal_body_offset(source, node)
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
        if body is None:
            file_line, column, start, end = node.lineno, node.col_offset + 1, None, None
        else:
            start = body + line_offset + type_start_in_line
            end = start + len(attribute_type)
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


def type_rule(attribute_type: str) -> tuple[str, str] | None:
    """(rule id, 2.x type) for a 0.14 type that 2.x rejects or reads otherwise."""
    text = attribute_type.strip()
    if text.lower() == "boolean":
        return "type-boolean", "bool"
    attach = _ATTACH.match(text)
    if attach:
        store = attach.group(2)
        return "type-attach", f"<attach@{store}>" if store else "<attach>"
    external = _EXTERNAL.match(text)
    if external:
        return "type-external", f"<{external.group(1).lower()}@{external.group(2)}>"
    if _BLOB.match(text):
        return "type-native-blob", "<blob>"
    return None
