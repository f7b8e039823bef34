"""Find an Element's modules that hold a deferred schema, and what they queue.

Source files are read with the AST first, so that only modules that actually
hold a deferred schema are imported: an Element's plotting or export modules
may need packages a schema check has no use for. The imported modules then
reveal what DataJoint itself queued in each deferred schema (``declare_list``:
every decorated table class with its declaration context), which is the ground
truth the linking analysis and the ``declared_all`` check work from.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.activation import compat

_SCHEMA_FACTORIES = {"schema", "Schema"}


@dataclass(frozen=True)
class ModuleSource:
    """A module of the Element as read from disk (not imported)."""

    name: str
    path: Path
    deferred_schemas: tuple[str, ...]
    has_activate: bool
    #: The syntax tree, when it has been parsed (see :attr:`tree`).
    parsed: ast.Module | None = field(default=None, repr=False, compare=False)

    @property
    def tree(self) -> ast.Module:
        """The module's syntax tree, parsed on first use.

        Most files of an Element (readers, plotting, export) neither hold a schema
        nor activate one: they are only parsed if something asks for their tree.
        """
        if self.parsed is None:
            object.__setattr__(self, "parsed", _parse(self.path) or _EMPTY_MODULE)
        assert self.parsed is not None
        return self.parsed


#: The tree of a file that cannot be parsed: importing it reports the error properly.
_EMPTY_MODULE = ast.Module(body=[], type_ignores=[])
#: A file without these bytes can neither declare a deferred schema nor define ``activate``.
_MAY_MATTER = (b"chema", b"activate")


def _parse(path: Path, data: bytes | None = None) -> ast.Module | None:
    try:
        return ast.parse(path.read_bytes() if data is None else data, filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return None


def _is_deferred_schema_call(node: ast.expr) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name not in _SCHEMA_FACTORIES:
        return False
    named = node.args and not (
        isinstance(node.args[0], ast.Constant) and node.args[0].value is None
    )
    named = named or any(k.arg == "schema_name" for k in node.keywords)
    return not named


def read_module(name: str, path: Path) -> ModuleSource | None:
    """Read one source file; None when it is not Python we can read."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not any(marker in data for marker in _MAY_MATTER):
        return ModuleSource(name, path, (), False)
    tree = _parse(path, data)
    if tree is None:
        # Still a module of the Element: importing it will report the error properly.
        text = data.decode("utf-8", errors="replace")
        deferred = ("schema",) if "schema(" in text.lower() else ()
        return ModuleSource(name, path, deferred, "def activate" in text, _EMPTY_MODULE)
    deferred = []
    has_activate = False
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and _is_deferred_schema_call(statement.value):
            deferred.extend(t.id for t in statement.targets if isinstance(t, ast.Name))
        elif isinstance(statement, ast.FunctionDef) and statement.name == "activate":
            has_activate = True
    return ModuleSource(name, path, tuple(deferred), has_activate, tree)


def package_sources(package: str, search_paths: Iterable[str]) -> list[ModuleSource]:
    """Every module of ``package`` found under its search locations, sorted by name."""
    sources = []
    for location in search_paths:
        root = Path(location)
        for path in sorted(root.rglob("*.py")):
            relative = path.relative_to(root).with_suffix("")
            parts = list(relative.parts)
            if any(part.startswith(".") or part in {"tests", "test"} for part in parts):
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join([package, *parts])
            source = read_module(name, path)
            if source is not None:
                sources.append(source)
    return sorted(sources, key=lambda source: source.name)


def package_locations(package: str) -> list[str]:
    """Directories of an importable package (without importing it)."""
    spec = importlib.util.find_spec(package)
    if spec is None:
        raise ModuleNotFoundError(f"No module named {package!r}", name=package)
    if spec.submodule_search_locations:
        return list(spec.submodule_search_locations)
    if spec.origin:  # a single-module "package"
        return [str(Path(spec.origin).parent)]
    return []


@dataclass
class QueuedTable:
    """A table class waiting in a deferred schema, with the context it will resolve in."""

    cls: type
    context: dict[str, Any]
    module: str
    schema_attribute: str
    part_of: str | None = None

    @property
    def name(self) -> str:
        return f"{self.part_of}.{self.cls.__name__}" if self.part_of else self.cls.__name__

    @property
    def definition(self) -> str:
        value = getattr(self.cls, "definition", "")
        return value if isinstance(value, str) else ""

    def source_line(self, definition_line: int) -> tuple[str | None, int | None]:
        """File and line of the ``definition_line``-th line of the definition, if found."""
        try:
            lines, start = inspect.getsourcelines(self.cls)
            file = inspect.getsourcefile(self.cls)
        except (OSError, TypeError):
            return None, None
        wanted = self.definition.splitlines()
        if not 0 < definition_line <= len(wanted):
            return file, start
        target = wanted[definition_line - 1].strip()
        for offset, line in enumerate(lines):
            if target and line.strip() == target:
                return file, start + offset
        return file, start


@dataclass
class LoadedModule:
    """An imported module of the Element and its deferred schemas."""

    source: ModuleSource
    module: Any
    schemas: dict[str, Any]
    tables: list[QueuedTable]


def _parts_of(cls: type) -> list[type]:
    dj = compat.datajoint()
    parts = []
    for attribute in dir(cls):
        if attribute[:1].isupper():
            value = getattr(cls, attribute, None)
            if inspect.isclass(value) and issubclass(value, dj.Part) and value is not dj.Part:
                parts.append(value)
    return parts


def load_module(source: ModuleSource) -> LoadedModule:
    """Import a module (fresh scope is the caller's job) and read its queued tables."""
    module = importlib.import_module(source.name)
    schema_types = compat.schema_classes()
    schemas = {
        name: value for name, value in vars(module).items() if isinstance(value, schema_types)
    }
    tables: list[QueuedTable] = []
    for attribute, schema in schemas.items():
        for cls, context in getattr(schema, "declare_list", []):
            tables.append(QueuedTable(cls, context, source.name, attribute))
            for part in _parts_of(cls):
                tables.append(
                    QueuedTable(part, context, source.name, attribute, part_of=cls.__name__)
                )
    return LoadedModule(source, module, schemas, tables)
