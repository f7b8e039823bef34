"""Foreign-key references in DataJoint table definitions.

A definition line ``-> [nullable] subject.Subject.proj(father="subject")``
names a table by a Python expression that DataJoint evaluates in the
declaration context when the table is declared. Parsing the expression (not
just the first word) tells the harness what a mock must look like: which name
or module it must exist under and which primary-key attributes ``.proj``
renames demand of it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

_REFERENCE_LINE = re.compile(r"^\s*->\s*(?:\[(?P<options>[^\]]*)\])?\s*(?P<expr>.+?)\s*$")


@dataclass(frozen=True)
class Reference:
    """One ``->`` line of a definition."""

    #: Dotted name of the referenced table as written (``Subject``, ``subject.Subject``).
    target: str
    #: Attribute names the referenced table must have, demanded by ``.proj(new="old")``.
    demanded_attributes: tuple[str, ...] = ()
    nullable: bool = False
    #: 1-based line within the definition string.
    line: int = 0
    text: str = ""
    primary: bool = True

    @property
    def head(self) -> str:
        """First component of the dotted name: what must exist in the context."""
        return self.target.split(".")[0]


@dataclass
class _Parsed:
    target: str | None
    demanded: list[str] = field(default_factory=list)


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def _parse_expression(expr: str) -> _Parsed:
    try:
        node = ast.parse(expr, mode="eval").body
    except SyntaxError:
        return _Parsed(None)
    demanded: list[str] = []
    # Unwrap method calls such as .proj(...): the table is what they are called on.
    while isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "proj":
            for keyword in node.keywords:
                if isinstance(keyword.value, ast.Constant) and isinstance(keyword.value.value, str):
                    demanded.append(keyword.value.value.strip())
            for argument in node.args:
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    demanded.append(argument.value.strip())
        node = node.func.value
    return _Parsed(_dotted(node), demanded)


def _strip_comment(line: str) -> str:
    return line.split("#", 1)[0]


def parse_references(definition: str) -> list[Reference]:
    """Every ``->`` reference of a definition, in order."""
    references = []
    primary = True
    for number, raw in enumerate(definition.splitlines(), start=1):
        line = _strip_comment(raw).strip()
        if line.startswith("---") or line.startswith("___"):
            primary = False
            continue
        match = _REFERENCE_LINE.match(line)
        if not match:
            continue
        options = {part.strip().lower() for part in (match.group("options") or "").split(",")}
        parsed = _parse_expression(match.group("expr"))
        if parsed.target is None:
            continue  # DataJoint will report the syntax error with its own words
        references.append(
            Reference(
                target=parsed.target,
                demanded_attributes=tuple(parsed.demanded),
                nullable="nullable" in options,
                line=number,
                text=raw.strip(),
                primary=primary,
            )
        )
    return references
