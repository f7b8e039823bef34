"""Pipeline spec files (``elements/pipelines/<name>.toml``) and their strict loader.

A pipeline spec is what a deploy needs and an Element cannot tell: which
Elements, in which order, under which schema names on the target, and where
each Element's upstream tables and linking functions come from. Like Element
specs (:mod:`harness.elements.spec`), it is validated strictly: an unknown key,
a wrong type, a reference to a later Element or a cycle is an error naming the
file, the dotted key and the line, because a misspelt key silently ignored
would deploy something other than what the lab reviewed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness import resources
from harness.elements.spec import (
    KeyPath,
    SpecError,
    Validator,
    dotted,
    key_lines,
    read_toml,
    type_name,
)

PIPELINE_DIR = resources.pipelines_dir()
DOCS = "docs/deploy.md"

_SCHEMA_NAME = re.compile(r"[A-Za-z0-9_]{1,64}\Z")
_ENTRY_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
#: ``element-lab:lab.User``: entry name, module leaf, table (``Master.Part`` allowed).
_REFERENCE = re.compile(
    r"(?P<entry>[A-Za-z0-9_][A-Za-z0-9_.-]*):(?P<module>[A-Za-z_][A-Za-z0-9_]*)"
    r"\.(?P<table>[A-Z][A-Za-z0-9_]*(\.[A-Z][A-Za-z0-9_]*)?)\Z"
)

_TOP = {
    "name": "str: the pipeline's name",
    "description": "str",
    "element": "array of tables, required: the Elements in activation order",
}
_ELEMENT = {
    "spec": "str: an Element spec name (element-lab) or spec file",
    "package": "str: an installed Element package, when there is no spec",
    "name": "str: how references name this entry (default: spec or package)",
    "modules": "array of str: the modules to activate (default: the spec's choice)",
    "schemas": "table, required: schema stem or *_schema_name parameter -> target schema",
    "linking_module": "str: import path of the lab's own linking module",
    "upstream": 'table: upstream name -> "entry:module.Table" of an earlier Element',
    "functions": "table: linking function name -> the path it returns",
}


@dataclass(frozen=True)
class Reference:
    """``Experimenter = "element-lab:lab.User"``: an upstream table from an earlier entry."""

    entry: str
    module: str  # module leaf, e.g. "lab"
    table: str  # class name, "Master.Part" for a part
    line: int

    def render(self) -> str:
        return f"{self.entry}:{self.module}.{self.table}"


@dataclass(frozen=True)
class PipelineEntry:
    """One ``[[element]]``: an Element, its schema names and its upstream sources."""

    index: int
    name: str
    spec: str | None
    package: str | None
    modules: tuple[str, ...]
    schemas: Mapping[str, str]
    linking_module: str | None
    upstream: Mapping[str, Reference] = field(default_factory=dict, hash=False)
    functions: Mapping[str, str] = field(default_factory=dict, hash=False)
    #: Line of each key, to point errors found later (at import time) at the file.
    lines: Mapping[str, int] = field(default_factory=dict, hash=False, compare=False)

    def line_of(self, key: str) -> int:
        return self.lines.get(key, self.lines.get("", 1))


@dataclass(frozen=True)
class PipelineSpec:
    """A loaded, validated pipeline spec."""

    path: Path
    name: str
    description: str
    entries: tuple[PipelineEntry, ...]

    def error(self, entry: PipelineEntry, key: str, problem: str, hint: str) -> SpecError:
        """An error found after loading (while importing the Elements), pointed at the file."""
        return SpecError(
            self.path,
            problem,
            key=f"element[{entry.index}].{key}" if key else f"element[{entry.index}]",
            line=entry.line_of(key),
            hint=hint,
        )


class _PipelineValidator(Validator):
    """The Element spec validator with this format's keys and documentation in hints."""

    docs = DOCS

    def error(self, key: KeyPath, problem: str, hint: str | None = None) -> SpecError:
        return super().error(key, problem, hint or f"see {DOCS}")

    def string_table(
        self, value: Any, key: KeyPath, name_pattern: re.Pattern[str], what: str
    ) -> dict[str, str]:
        """A table of string values whose keys match ``name_pattern``."""
        if not isinstance(value, dict):
            raise self.error(key, f"expected a table, got {type_name(value)}")
        for name, item in value.items():
            self.pattern(name, (*key, name), name_pattern, what, "see " + DOCS)
            self.string(item, (*key, name))
        return dict(value)


def _entry(v: _PipelineValidator, raw: Any, index: int) -> PipelineEntry:
    key: KeyPath = ("element", index)
    table = v.table(raw, key, _ELEMENT, required=("schemas",))
    if ("spec" in table) == ("package" in table):
        raise v.error(key, "give exactly one of `spec` and `package`", 'e.g. spec = "element-lab"')
    spec = v.string(table["spec"], (*key, "spec")) if "spec" in table else None
    package = (
        v.pattern(table["package"], (*key, "package"), _IDENTIFIER, "a package", '"element_lab"')
        if "package" in table
        else None
    )
    name = v.pattern(
        table.get("name", spec or package), (*key, "name"), _ENTRY_NAME, "an entry name", "lab"
    )
    modules = v.string_list(
        table.get("modules", []),
        (*key, "modules"),
        lambda item, k: v.pattern(item, k, _DOTTED, "a module", '"element_lab.lab"'),
    )
    schemas = v.string_table(
        table["schemas"], (*key, "schemas"), _IDENTIFIER, "a schema stem or parameter"
    )
    if not schemas:
        raise v.error((*key, "schemas"), "names no schema", 'e.g. schemas = { lab = "lab_lab" }')
    for stem, schema in schemas.items():
        if not _SCHEMA_NAME.match(schema):
            raise v.error(
                (*key, "schemas", stem),
                f"{schema!r} is not a schema name (letters, digits, underscores, at most 64)",
            )
    linking = None
    if "linking_module" in table:
        linking = v.pattern(
            table["linking_module"], (*key, "linking_module"), _DOTTED, "a module", '"lab.pipeline"'
        )
        for other in ("upstream", "functions"):
            if other in table:
                raise v.error(
                    (*key, other),
                    f"`{other}` cannot be combined with `linking_module`",
                    "the lab's linking module provides upstream tables and functions itself",
                )
    upstream: dict[str, Reference] = {}
    for upstream_name, text in v.string_table(
        table.get("upstream", {}), (*key, "upstream"), _DOTTED, "an upstream name"
    ).items():
        match = _REFERENCE.match(text)
        if match is None:
            raise v.error(
                (*key, "upstream", upstream_name),
                f"{text!r} is not a reference to an earlier Element's table",
                'write "<entry>:<module>.<Table>", e.g. "element-lab:lab.User"',
            )
        upstream[upstream_name] = Reference(
            match["entry"],
            match["module"],
            match["table"],
            v.lines.get((*key, "upstream", upstream_name), 0)
            or v.lines.get((*key, "upstream"), 0)
            or v.lines.get(key, 1),
        )
    functions = v.string_table(
        table.get("functions", {}), (*key, "functions"), _IDENTIFIER, "a function name"
    )
    lines = {dotted(k[2:]): line for k, line in v.lines.items() if len(k) > 2 and k[:2] == key}
    lines[""] = v.lines.get(key, 1)
    return PipelineEntry(
        index=index,
        name=name,
        spec=spec,
        package=package,
        modules=modules,
        schemas=MappingProxyType(schemas),
        linking_module=linking,
        upstream=MappingProxyType(upstream),
        functions=MappingProxyType(functions),
        lines=MappingProxyType(lines),
    )


def _check_references(v: _PipelineValidator, entries: list[PipelineEntry]) -> None:
    """Every reference names an earlier entry; a reference to a later one is a cycle or misorder."""
    position = {entry.name: entry.index for entry in entries}
    edges = {entry.name: {ref.entry for ref in entry.upstream.values()} for entry in entries}
    for entry in entries:
        for upstream_name, ref in entry.upstream.items():
            key: KeyPath = ("element", entry.index, "upstream", upstream_name)
            if ref.entry not in position:
                raise v.error(
                    key,
                    f"refers to {ref.entry!r}, which is not an entry of this pipeline",
                    f"entries: {', '.join(position)}",
                )
            cycle = _cycle(edges, entry.name, ref.entry)
            if cycle:
                raise v.error(
                    key,
                    f"reference cycle: {' -> '.join(cycle)}",
                    "an Element can only take upstream tables from Elements activated before it",
                )
            if position[ref.entry] >= entry.index:
                raise v.error(
                    key,
                    f"refers to {ref.entry!r}, which comes later in the pipeline",
                    f"list {ref.entry!r} before {entry.name!r}",
                )


def _cycle(edges: Mapping[str, set[str]], start: str, first: str) -> list[str]:
    """The path ``start -> first -> ... -> start`` if following references returns to start."""
    stack: list[tuple[str, list[str]]] = [(first, [start, first])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        if node == start:
            return path
        if node in seen:
            continue
        seen.add(node)
        stack.extend((nxt, [*path, nxt]) for nxt in sorted(edges.get(node, ())))
    return []


def _build(document: dict[str, Any], path: Path, lines: Mapping[KeyPath, int]) -> PipelineSpec:
    v = _PipelineValidator(path, lines)
    top = v.table(document, (), _TOP, required=("element",))
    name = v.string(top.get("name", path.stem), ("name",))
    description = v.string(top.get("description", ""), ("description",), nonempty=False)
    raw = top["element"]
    if not isinstance(raw, list) or not raw:
        raise v.error(
            ("element",),
            "expected one or more [[element]] tables",
            "write one [[element]] section per Element, in activation order",
        )
    entries = [_entry(v, item, index) for index, item in enumerate(raw)]
    names: dict[str, int] = {}
    schemas: dict[str, tuple[int, str]] = {}
    for entry in entries:
        if entry.name in names:
            raise v.error(
                ("element", entry.index, "name"),
                f"entry name {entry.name!r} is used twice",
                "give one of the entries its own `name = ...`",
            )
        names[entry.name] = entry.index
        for stem, schema in entry.schemas.items():
            if schema in schemas:
                other, other_stem = schemas[schema]
                raise v.error(
                    ("element", entry.index, "schemas", stem),
                    f"schema {schema!r} is also element[{other}].schemas.{other_stem}",
                    "every Element schema needs a schema of its own on the target",
                )
            schemas[schema] = (entry.index, stem)
    _check_references(v, entries)
    return PipelineSpec(path=path, name=name, description=description, entries=tuple(entries))


def find_pipeline(text: str) -> Path:
    """A path as given, else ``elements/pipelines/<text>.toml``."""
    path = Path(text).expanduser()
    if path.suffix == ".toml" or "/" in text:
        return path
    bundled = PIPELINE_DIR / f"{text}.toml"
    return bundled if bundled.is_file() else path


def load_pipeline(path: Path) -> PipelineSpec:
    """Read and validate one pipeline spec; :class:`SpecError` on any problem."""
    path = Path(path)
    document, text = read_toml(
        path, not_found_hint=f"give a pipeline .toml file; bundled: {PIPELINE_DIR}"
    )
    return _build(document, path, key_lines(text))
