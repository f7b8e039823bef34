"""Synthesize the linking module an Element is activated with.

Upstream tables become Manual tables in a mock schema inside the check's
namespace. Their primary key is the smallest one that satisfies every use
found: the attributes ``.proj`` renames demand, or else one ``<name>_id``
integer. Functions return paths under a temporary directory, so an Element
that asks for its data directory at activation gets one that exists. The spec
can replace any mock with its own definition, and everything mocked is
reported. Names the Element defines itself in another module activated first
are not mocked: the caller hands those real tables over in ``provided``.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.activation import compat
from harness.activation.linking import LinkingRequirements, UpstreamTable

MOCK_MODULE_PREFIX = "harness_mock_linking"


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _attribute_type(attribute: str) -> str:
    if attribute.endswith("_id") or attribute.endswith("_idx") or attribute.endswith("_no"):
        # DataJoint 2.x prefers its portable core types and warns about native ones.
        return "int32" if compat.major_version() >= 2 else "int"
    if "datetime" in attribute:
        return "datetime"
    if attribute.endswith("_date"):
        return "date"
    return "varchar(64)"


def mock_definition(table: UpstreamTable) -> str:
    """A Manual-table definition whose primary key satisfies every recorded use."""
    attributes = sorted(table.demanded_attributes) or [f"{snake_case(table.name)}_id"]
    lines = [f"# mock of upstream {table.qualified}, synthesized by element-harness"]
    lines += [f"{attribute}: {_attribute_type(attribute)}" for attribute in attributes]
    return "\n".join(lines) + "\n"


def mock_part_definition(part: str, demanded: set[str]) -> str:
    """A Part-table definition below its mocked master."""
    attributes = sorted(demanded) or [f"{snake_case(part)}_id"]
    lines = ["-> master"] + [
        f"{attribute}: {_attribute_type(attribute)}" for attribute in attributes
    ]
    return "\n".join(lines) + "\n"


def _mock_function(name: str, root: Path) -> Any:
    """A linking function: paths under ``root``, lists for names that ask for files."""
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    returns_list = "files" in name or name.endswith("_dirs")

    def mocked(*args: Any, **kwargs: Any) -> Any:
        return [str(directory)] if returns_list else str(directory)

    mocked.__name__ = name
    mocked.__doc__ = f"Mock of linking function {name!r} (element-harness): returns {directory}."
    return mocked


def link(module: types.ModuleType, namespace: str | None, name: str, value: Any) -> None:
    """Put ``value`` in a linking module as ``name``, or as ``namespace.name``.

    A qualified reference (``-> probe.ProbeType``) is resolved through a
    module-like attribute of the linking module; it is created on first use.
    """
    if namespace is None:
        module.__dict__[name] = value
        return
    holder = module.__dict__.setdefault(namespace, types.ModuleType(namespace))
    setattr(holder, name, value)


@dataclass
class MockLinkingModule:
    """The synthesized module and what it contains, for the report."""

    module: types.ModuleType
    tables: dict[str, str] = field(default_factory=dict)  # qualified name -> definition
    functions: list[str] = field(default_factory=list)


#: A declared mock table, by what makes it: schema, class name, definition, parts.
MockKey = tuple[str, str, str, tuple[tuple[str, str], ...]]


@dataclass
class DeclaredMocks:
    """Mock tables a check has declared already, for its later groups and its reactivation.

    A mock table is the harness's, not the Element's: declaring it a second time
    (for the next group, or for the second activation in fresh modules) asks the
    server again what it already said. The same table class serves instead, when
    its definition is the same.
    """

    classes: dict[MockKey, type] = field(default_factory=dict)
    schemas: dict[str, Any] = field(default_factory=dict)

    def schema(self, name: str, context: dict[str, Any]) -> Any:
        """The mock schema ``name``, created on first use."""
        if name not in self.schemas:
            dj = compat.datajoint()
            self.schemas[name] = dj.Schema(
                name, context=context, create_schema=True, create_tables=True
            )
        return self.schemas[name]


def synthesize(
    requirements: LinkingRequirements,
    *,
    schema_name: str,
    data_root: Path,
    definitions: Mapping[str, str] | None = None,
    extra_functions: tuple[str, ...] = (),
    provided: Mapping[str, Any] | None = None,
    declared: DeclaredMocks | None = None,
) -> MockLinkingModule:
    """Declare mock tables in ``schema_name`` and build the linking module.

    ``provided`` maps upstream names to real objects (tables of other Elements
    activated first); those are not mocked. ``declared`` holds the mock tables of
    earlier calls in the same check, which are reused. Needs DataJoint connected.
    """
    dj = compat.datajoint()
    definitions = definitions or {}
    provided = provided or {}
    declared = declared if declared is not None else DeclaredMocks()
    module = types.ModuleType(f"{MOCK_MODULE_PREFIX}_{schema_name}")
    module.__doc__ = "Linking module synthesized by element-harness."
    result = MockLinkingModule(module)
    module.__dict__.update(provided)
    to_mock = {
        key: table
        for key, table in requirements.tables.items()
        if key not in provided
        and table.name not in provided
        and (table.namespace is None or table.namespace not in provided)
    }
    here: dict[str, type] = {}
    for key in sorted(to_mock):
        table = to_mock[key]
        if table.name in here:
            cls = here[table.name]
        else:
            definition = (
                definitions.get(table.qualified)
                or definitions.get(table.name)
                or mock_definition(table)
            )
            parts = tuple(
                (part, mock_part_definition(part, demanded))
                for part, demanded in sorted(table.parts.items())
            )
            made_by: MockKey = (schema_name, table.name, definition, parts)
            cls = declared.classes.get(made_by)
            if cls is None:
                schema = declared.schema(schema_name, module.__dict__)
                body: dict[str, Any] = {"definition": definition, "__module__": module.__name__}
                for part, part_definition in parts:
                    body[part] = type(
                        part,
                        (dj.Part,),
                        {"definition": part_definition, "__module__": module.__name__},
                    )
                cls = type(table.name, (dj.Manual,), body)
                # A spec's own mock definition may reference another mock of this module.
                schema(cls, context=module.__dict__)
                declared.classes[made_by] = cls
            here[table.name] = cls
            result.tables[table.qualified] = definition
        link(module, table.namespace, table.name, cls)
    for name in sorted(requirements.functions | set(extra_functions)):
        if name in provided:
            continue
        module.__dict__[name] = _mock_function(name, data_root)
        result.functions.append(name)
    return result


def upstream_sources(
    mocked: Mapping[str, str], from_element: Mapping[str, Any], from_spec: Mapping[str, str]
) -> dict[str, dict[str, str | None]]:
    """Where each upstream name came from, for the report.

    ``source`` is ``mock`` (declared here), ``element`` (a table of another
    module of the same Element) or ``spec`` (the spec's ``[upstream]``);
    ``table`` is the real table's dotted path (None for a mock).
    """
    sources: dict[str, dict[str, str | None]] = {
        name: {"source": "mock", "table": None} for name in mocked
    }
    for name, cls in from_element.items():
        sources[name] = {"source": "element", "table": f"{cls.__module__}.{cls.__name__}"}
    for name, path in from_spec.items():
        sources[name] = {"source": "spec", "table": path}
    return sources
