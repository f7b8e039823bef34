"""Element spec files (``elements/<name>.toml``) and their strict loader.

A spec tells the harness what cannot be read from an Element itself: how to
install it, which variant modules to check, which heavy imports to stub, and,
rarely, how to override the activation plan or a mock. ``docs/spec-format.md``
documents the format for users.

The loader is strict on purpose: a misspelt key (``stub = [...]`` for
``stubs``) silently ignored would make a check pass or fail for the wrong
reason. Every problem raises :class:`SpecError` naming the file, the dotted key
and the line, with a hint. ``tomllib`` reports no positions for values, so
:func:`key_lines` re-reads the raw text to find the line of each key within
its table section.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from harness import resources
from harness.errors import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

#: Environment variable with extra spec directories (``os.pathsep``-separated).
SPEC_PATH_ENV = "HARNESS_SPEC_PATH"

#: Top-level packages a spec may never stub: a check without them checks nothing.
UNSTUBBABLE = frozenset({"datajoint"})

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_SCHEMA_STEM = re.compile(r"[A-Za-z0-9_]+\Z")

KeyPath = tuple[str | int, ...]


class SpecError(ConfigurationError):
    """A spec file is missing, unreadable or invalid; says where and what to do."""

    def __init__(
        self,
        path: Path | str,
        problem: str,
        *,
        key: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.problem = problem
        self.key = key
        self.line = line
        where = f"{path}:{line}" if line is not None else f"{path}"
        what = f"key '{key}': {problem}" if key else problem
        super().__init__(f"spec {where}: {what}", hint=hint)


@dataclass(frozen=True)
class InstallSpec:
    """``[install]``: how to install the Element when its package is missing."""

    requirement: str
    no_deps: bool = True
    #: Light packages installed in the same pip command (``no_deps`` applies to them too).
    with_: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActivateOverride:
    """One ``[[activate]]`` entry: replaces the planned call for ``module``."""

    module: str
    function: str = "activate"
    covers: tuple[str, ...] = ()
    #: Keyword arguments; values of ``*schema_name`` parameters are schema stems.
    args: Mapping[str, Any] = field(default_factory=dict, hash=False)


def _empty_mapping() -> Mapping[str, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class ElementSpec:
    """A loaded, validated spec. Mappings are read-only views."""

    name: str
    package: str
    version: str | None = None
    description: str = ""
    path: Path | None = None
    install: InstallSpec | None = None
    modules: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    stubs: tuple[str, ...] = ()
    timeout: float | None = None
    upstream: Mapping[str, str] = field(default_factory=_empty_mapping, hash=False)
    mock_tables: Mapping[str, str] = field(default_factory=_empty_mapping, hash=False)
    mock_functions: tuple[str, ...] = ()
    activations: tuple[ActivateOverride, ...] = ()

    @property
    def install_requirement_path(self) -> Path | None:
        """The resolved path when ``install.requirement`` names an existing file or directory.

        Relative paths are relative to the spec file's directory, so a spec can
        ship beside a wheel or a source tree. URLs (``git+https://...``) and
        ordinary requirements (``pkg==1.0``) give ``None``.
        """
        if self.install is None or "://" in self.install.requirement:
            return None
        base = self.path.parent if self.path is not None else Path.cwd()
        candidate = base / Path(self.install.requirement).expanduser()
        return candidate.resolve() if candidate.exists() else None


# --------------------------------------------------------------------------- search


def spec_search_dirs() -> list[Path]:
    """Where spec names are looked up, first match wins.

    The repository's ``elements/`` and ``elements/samples/``, then every
    directory in ``HARNESS_SPEC_PATH``. Directories that do not exist are left
    out; duplicates are listed once.
    """
    bundled = resources.elements_dir()
    candidates = [bundled, bundled / "samples"]
    extra = os.environ.get(SPEC_PATH_ENV, "")
    candidates += [Path(part).expanduser() for part in extra.split(os.pathsep) if part.strip()]
    found: list[Path] = []
    for directory in candidates:
        if directory.is_dir() and directory.resolve() not in {d.resolve() for d in found}:
            found.append(directory)
    return found


def find_spec(name: str) -> Path | None:
    """The spec file for ``name`` (``element-lab``), or a ``.toml`` path given directly.

    Returns ``None`` when nothing matches; the caller decides whether ``name``
    is then a package, a module or a directory.
    """
    if name.endswith(".toml") or os.sep in name or "/" in name:
        path = Path(name).expanduser()
        return path if path.is_file() and path.suffix == ".toml" else None
    for directory in spec_search_dirs():
        candidate = directory / f"{name}.toml"
        if candidate.is_file():
            return candidate
    return None


# ------------------------------------------------------------------ line locations


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _parse_key(text: str, start: int) -> tuple[list[str], int] | None:
    """Parse a (dotted, possibly quoted) TOML key at ``start``; return parts and end index."""
    parts: list[str] = []
    i = start
    while True:
        while i < len(text) and text[i] in " \t":
            i += 1
        if i >= len(text):
            return None
        char = text[i]
        if char in "\"'":
            end = i + 1
            chunk: list[str] = []
            while end < len(text) and text[end] != char:
                if char == '"' and text[end] == "\\" and end + 1 < len(text):
                    chunk.append(text[end + 1])
                    end += 2
                    continue
                chunk.append(text[end])
                end += 1
            if end >= len(text):
                return None
            parts.append("".join(chunk))
            i = end + 1
        else:
            match = _BARE_KEY.match(text, i)
            if match is None:
                return None
            parts.append(match.group())
            i = match.end()
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] == ".":
            i += 1
            continue
        return parts, i


@dataclass
class _ScanState:
    """Where a value that spans lines is still open."""

    multiline: str | None = None  # the delimiter of an open multi-line string
    depth: int = 0  # open [ and { of an array or inline table


def _scan_value(text: str, state: _ScanState) -> None:
    """Advance ``state`` over ``text``: strings, brackets and comments of a value."""
    i = 0
    while i < len(text):
        if state.multiline is not None:
            end = text.find(state.multiline, i)
            while end > 0 and state.multiline == '"""' and _escaped(text, end):
                end = text.find(state.multiline, end + 1)
            if end < 0:
                return
            i = end + 3
            state.multiline = None
            continue
        char = text[i]
        if char == "#":
            return
        if text.startswith('"""', i) or text.startswith("'''", i):
            state.multiline = text[i : i + 3]
            i += 3
            continue
        if char in "\"'":
            end = i + 1
            while end < len(text) and text[end] != char:
                end += 2 if char == '"' and text[end] == "\\" else 1
            i = end + 1
            continue
        if char in "[{":
            state.depth += 1
        elif char in "]}":
            state.depth = max(0, state.depth - 1)
        i += 1


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def key_lines(text: str) -> dict[KeyPath, int]:
    """Map every key path (``("check", "stubs")``, ``("activate", 0, "module")``) to its line.

    Table headers map their own path to the header line; array-of-tables entries
    are numbered in order of appearance. Keys inside inline tables and
    multi-line values are not indexed: :func:`_line_of` falls back to the
    nearest indexed ancestor.
    """
    lines: dict[KeyPath, int] = {}
    array_counts: dict[KeyPath, int] = {}
    current: KeyPath = ()
    state = _ScanState()

    def resolve(parts: list[str]) -> KeyPath:
        resolved: KeyPath = ()
        for part in parts:
            resolved = (*resolved, part)
            if resolved in array_counts:
                resolved = (*resolved, array_counts[resolved])
        return resolved

    for number, raw in enumerate(text.splitlines(), start=1):
        if state.multiline is not None or state.depth > 0:
            _scan_value(raw, state)
            continue
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("[["):
            parsed = _parse_key(stripped, 2)
            if parsed is None:
                continue
            table = (*resolve(parsed[0][:-1]), parsed[0][-1])
            index = array_counts.get(table, -1) + 1
            array_counts[table] = index
            current = (*table, index)
            lines.setdefault(table, number)
            lines[current] = number
        elif stripped.startswith("["):
            parsed = _parse_key(stripped, 1)
            if parsed is None:
                continue
            current = resolve(parsed[0])
            lines.setdefault(current, number)
        else:
            parsed = _parse_key(raw, 0)
            if parsed is None:
                continue
            parts, end = parsed
            if end >= len(raw) or raw[end] != "=":
                continue
            for depth in range(1, len(parts) + 1):
                lines.setdefault((*current, *parts[:depth]), number)
            _scan_value(raw[end + 1 :], state)
    return lines


def _line_of(lines: Mapping[KeyPath, int], key: KeyPath) -> int:
    """The line of ``key``, else of its nearest ancestor found in the text, else 1."""
    for length in range(len(key), 0, -1):
        if key[:length] in lines:
            return lines[key[:length]]
    return 1


def dotted(key: KeyPath) -> str:
    """A key path as the user writes it: ``("activate", 0, "module")`` -> ``activate[0].module``."""
    text = ""
    for part in key:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


# ---------------------------------------------------------------------- validation


def type_name(value: Any) -> str:
    """The TOML type of ``value`` as an error message names it (``a boolean``)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return "a date/time"
    return type(value).__name__


class Validator:
    """Checks one parsed document against the format; raises :class:`SpecError`.

    Public because pipeline specs (:mod:`harness.deploy.spec`) extend it.
    """

    #: The page a hint sends the user to (subclasses for other formats override it).
    docs = "docs/spec-format.md"

    def __init__(self, path: Path, lines: Mapping[KeyPath, int]) -> None:
        self.path = path
        self.lines = lines

    def error(self, key: KeyPath, problem: str, hint: str | None = None) -> SpecError:
        return SpecError(
            self.path,
            problem,
            key=dotted(key) or None,
            line=_line_of(self.lines, key),
            hint=hint or _default_hint(key),
        )

    def table(
        self,
        value: Any,
        key: KeyPath,
        known: Mapping[str, str],
        required: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """A table whose keys are all in ``known`` (name -> description for the hint)."""
        if not isinstance(value, dict):
            raise self.error(key, f"expected a table, got {type_name(value)}")
        where = f"[{dotted(key)}]" if key else "the top level"
        listing = ", ".join(f"{name} ({what})" for name, what in known.items())
        for name in value:
            if name not in known:
                raise self.error(
                    (*key, name),
                    f"unknown key in {where}",
                    hint=f"known keys in {where}: {listing}; see {self.docs}",
                )
        for name in required:
            if name not in value:
                raise self.error(
                    (*key, name),
                    f"required key missing in {where}",
                    hint=f"add `{name} = ...` ({known[name]}) to {where}",
                )
        return value

    def string(self, value: Any, key: KeyPath, *, nonempty: bool = True) -> str:
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {type_name(value)}")
        if nonempty and not value.strip():
            raise self.error(key, "must not be empty")
        return value

    def boolean(self, value: Any, key: KeyPath) -> bool:
        if not isinstance(value, bool):
            raise self.error(
                key, f"expected a boolean, got {type_name(value)}", hint="write true or false"
            )
        return value

    def pattern(
        self, value: Any, key: KeyPath, regex: re.Pattern[str], what: str, example: str
    ) -> str:
        text = self.string(value, key)
        if not regex.match(text):
            raise self.error(key, f"{text!r} is not {what}", hint=f"e.g. {example}")
        return text

    def string_list(
        self, value: Any, key: KeyPath, check: Callable[[str, KeyPath], str] | None = None
    ) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.error(
                key,
                f"expected an array of strings, got {type_name(value)}",
                hint='write e.g. ["first", "second"]',
            )
        items: list[str] = []
        for item in value:
            if not isinstance(item, str):
                raise self.error(
                    key,
                    f"expected an array of strings, but an item is {type_name(item)} ({item!r})",
                    hint="quote every item",
                )
            if check is not None:
                check(item, key)
            if item in items:
                raise self.error(key, f"lists {item!r} twice", hint="remove the duplicate")
            items.append(item)
        return tuple(items)

    def module_in(self, package: str) -> Callable[[str, KeyPath], str]:
        """A check that a name is a dotted module path inside ``package``."""

        def check(name: str, key: KeyPath) -> str:
            self.pattern(name, key, _DOTTED, "a dotted module name", f"{package}.module")
            if name != package and not name.startswith(package + "."):
                raise self.error(
                    key,
                    f"{name!r} is not a module of package {package!r}",
                    hint=f"modules of this Element are named {package}.<module>",
                )
            return name

        return check


_TOP = {
    "name": "str, required: equals the file stem",
    "package": "str, required: top-level import package",
    "version": "str: the release this spec checks",
    "description": "str",
    "install": "table",
    "check": "table",
    "upstream": "table",
    "mock": "table",
    "activate": "array of tables",
}
_INSTALL = {
    "requirement": "str, required: pip requirement or path",
    "no_deps": "bool, default true",
    "with": "array of str: light dependencies",
}
_CHECK = {
    "modules": "array of str: modules to activate",
    "exclude": "array of str: modules never imported",
    "stubs": "array of str: top-level packages stubbed when missing",
    "timeout": "number > 0: seconds",
}
_MOCK = {"functions": "array of str", "tables": "table: name -> definition"}
_ACTIVATE = {
    "module": "str, required",
    "function": 'str, default "activate"',
    "covers": "array of str: modules this call activates",
    "args": "table: keyword arguments",
}


#: What each key holds, by its path with array indexes left out ("*" for any name).
_EXPECTED: dict[tuple[str, ...], str] = {
    **{(name,): what for name, what in _TOP.items()},
    **{("install", name): what for name, what in _INSTALL.items()},
    **{("check", name): what for name, what in _CHECK.items()},
    **{("mock", name): what for name, what in _MOCK.items()},
    **{("activate", name): what for name, what in _ACTIVATE.items()},
    ("upstream", "*"): 'str: "module.attr" of a real Element\'s table',
    ("mock", "tables", "*"): "str: a DataJoint table definition",
    ("activate", "args", "*"): "any: a keyword argument; *schema_name values are schema stems",
}


def _default_hint(key: KeyPath) -> str:
    """``check.timeout`` holds: number > 0: seconds (the line of docs/spec-format.md to read)."""
    shape = tuple(part for part in key if isinstance(part, str))
    for candidate in (shape, (*shape[:-1], "*")):
        if candidate in _EXPECTED:
            return f"{dotted(key)} holds: {_EXPECTED[candidate]}; see docs/spec-format.md"
    return "see docs/spec-format.md"


def _build(document: dict[str, Any], path: Path, lines: Mapping[KeyPath, int]) -> ElementSpec:
    v = Validator(path, lines)
    top = v.table(document, (), _TOP, required=("name", "package"))
    name = v.string(top["name"], ("name",))
    if name != path.stem:
        raise v.error(
            ("name",),
            f"{name!r} differs from the file name {path.name!r}",
            hint=f'rename the file to {name}.toml or write name = "{path.stem}"',
        )
    package = v.pattern(
        top["package"], ("package",), _IDENTIFIER, "a top-level package name", '"element_lab"'
    )
    in_package = v.module_in(package)
    version = v.string(top["version"], ("version",)) if "version" in top else None
    description = v.string(top.get("description", ""), ("description",), nonempty=False)

    install = None
    if "install" in top:
        table = v.table(top["install"], ("install",), _INSTALL, required=("requirement",))
        install = InstallSpec(
            requirement=v.string(table["requirement"], ("install", "requirement")).strip(),
            no_deps=v.boolean(table.get("no_deps", True), ("install", "no_deps")),
            with_=v.string_list(table.get("with", []), ("install", "with")),
        )

    check = v.table(top.get("check", {}), ("check",), _CHECK)
    modules = v.string_list(check.get("modules", []), ("check", "modules"), in_package)
    exclude = v.string_list(check.get("exclude", []), ("check", "exclude"), in_package)
    for module in modules:
        if any(module == ex or module.startswith(ex + ".") for ex in exclude):
            raise v.error(
                ("check", "exclude"),
                f"excludes {module!r}, which check.modules asks to activate",
                hint="remove it from one of the two lists",
            )

    def stub_name(item: str, key: KeyPath) -> str:
        v.pattern(item, key, _IDENTIFIER, "a top-level package name", '"cv2"')
        if item in UNSTUBBABLE or item == package:
            raise v.error(
                key,
                f"{item!r} cannot be stubbed",
                hint="stubs replace heavy third-party imports, never DataJoint or the Element",
            )
        return item

    stubs = v.string_list(check.get("stubs", []), ("check", "stubs"), stub_name)
    timeout: float | None = None
    if "timeout" in check:
        raw = check["timeout"]
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise v.error(("check", "timeout"), f"expected a number, got {type_name(raw)}")
        if not raw > 0:
            raise v.error(("check", "timeout"), f"must be > 0, got {raw}", hint="seconds, e.g. 60")
        timeout = float(raw)

    upstream: dict[str, str] = {}
    if "upstream" in top:
        table = top["upstream"]
        if not isinstance(table, dict):
            raise v.error(("upstream",), f"expected a table, got {type_name(table)}")
        for upstream_name, target in table.items():
            key = ("upstream", upstream_name)
            v.pattern(upstream_name, key, _DOTTED, "a table name", "Subject")
            text = v.pattern(
                target, key, _DOTTED, "a 'module.attr' path", '"element_animal.subject.Subject"'
            )
            if "." not in text:
                raise v.error(
                    key,
                    f"{text!r} names no module",
                    hint='write "module.attr", e.g. "element_lab.lab.User"',
                )
            upstream[upstream_name] = text

    mock = v.table(top.get("mock", {}), ("mock",), _MOCK)
    mock_functions = v.string_list(
        mock.get("functions", []),
        ("mock", "functions"),
        lambda item, key: v.pattern(
            item, key, _IDENTIFIER, "a function name", '"get_session_directory"'
        ),
    )
    mock_tables: dict[str, str] = {}
    if "tables" in mock:
        table = mock["tables"]
        if not isinstance(table, dict):
            raise v.error(("mock", "tables"), f"expected a table, got {type_name(table)}")
        for table_name, definition in table.items():
            key = ("mock", "tables", table_name)
            v.pattern(table_name, key, _DOTTED, "a table name", "Session")
            mock_tables[table_name] = v.string(definition, key)
        clash = sorted(set(mock_tables) & set(upstream))
        if clash:
            raise v.error(
                ("mock", "tables", clash[0]),
                f"{clash[0]!r} is both mocked and taken from [upstream]",
                hint="keep one of the two",
            )

    activations = _activations(v, top.get("activate", []), in_package)
    return ElementSpec(
        name=name,
        package=package,
        version=version,
        description=description,
        path=path,
        install=install,
        modules=modules,
        exclude=exclude,
        stubs=stubs,
        timeout=timeout,
        upstream=MappingProxyType(upstream),
        mock_tables=MappingProxyType(mock_tables),
        mock_functions=mock_functions,
        activations=activations,
    )


def _activations(
    v: Validator, raw: Any, in_package: Callable[[str, KeyPath], str]
) -> tuple[ActivateOverride, ...]:
    if not isinstance(raw, list):
        raise v.error(
            ("activate",),
            f"expected an array of tables, got {type_name(raw)}",
            hint="write one [[activate]] section per module",
        )
    overrides: list[ActivateOverride] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw):
        key: KeyPath = ("activate", index)
        table = v.table(entry, key, _ACTIVATE, required=("module",))
        module = in_package(v.string(table["module"], (*key, "module")), (*key, "module"))
        if module in seen:
            raise v.error(
                (*key, "module"),
                f"a second [[activate]] for {module!r}",
                hint="merge the two sections",
            )
        seen.add(module)
        function = v.pattern(
            table.get("function", "activate"),
            (*key, "function"),
            _IDENTIFIER,
            "a function name",
            '"activate"',
        )
        covers = v.string_list(table.get("covers", []), (*key, "covers"), in_package)
        args = table.get("args", {})
        if not isinstance(args, dict):
            raise v.error((*key, "args"), f"expected a table, got {type_name(args)}")
        for arg, value in args.items():
            arg_key = (*key, "args", arg)
            v.pattern(arg, arg_key, _IDENTIFIER, "a parameter name", "trial_schema_name")
            if arg.endswith("schema_name"):
                v.pattern(
                    value,
                    arg_key,
                    _SCHEMA_STEM,
                    "a schema stem (letters, digits, underscores)",
                    '"trial" (the harness adds the namespace prefix)',
                )
        overrides.append(
            ActivateOverride(
                module=module, function=function, covers=covers, args=MappingProxyType(dict(args))
            )
        )
    return tuple(overrides)


# -------------------------------------------------------------------------- loading


_SPEC_NOT_FOUND = "`harness check --list` shows the known specs; give a path to a .toml file"


def _read_text(path: Path, not_found_hint: str = _SPEC_NOT_FOUND) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(path, "file not found", hint=not_found_hint) from None
    except IsADirectoryError:
        raise SpecError(path, "is a directory, not a spec file") from None
    except OSError as error:
        raise SpecError(path, f"cannot be read: {error.strerror or error}") from None
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise SpecError(
            path, "binary content (NUL byte)", line=line, hint="a spec is a UTF-8 TOML text file"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SpecError(
            path,
            f"not valid UTF-8 (byte 0x{data[error.start]:02x})",
            line=line,
            hint="save the file as UTF-8",
        ) from None


_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")


def read_toml(path: Path, not_found_hint: str = _SPEC_NOT_FOUND) -> tuple[dict[str, Any], str]:
    """A TOML file's document and text; :class:`SpecError` naming the file and line.

    Shared by every spec format of the harness (Element specs, pipeline specs): a
    missing, binary, non-UTF-8 or malformed file gets the same precise error.
    """
    text = _read_text(path, not_found_hint)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        line = getattr(error, "lineno", None)
        match = _TOML_POSITION.search(message)
        if line is None and match:
            line = int(match.group(1))
        if line is None:  # "at end of document"
            line = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
        problem = _TOML_POSITION.sub("", getattr(error, "msg", message)).strip()
        raise SpecError(
            path,
            f"invalid TOML: {problem}",
            line=line,
            hint="check quotes, brackets and `key = value` syntax on that line",
        ) from None
    return document, text


def load_spec(path: Path) -> ElementSpec:
    """Read and validate one spec file; :class:`SpecError` on any problem."""
    path = Path(path)
    document, text = read_toml(path)
    return _build(document, path, key_lines(text))
