"""Turn whatever an Element raised into a failure class and a useful message.

The classes are the vocabulary of reports and pytest messages:

``import_error``, ``unresolved_reference``, ``missing_linking_function``,
``declaration_error``, ``namespace_violation``, ``unsupported_datajoint``,
``timeout``, ``server_error``, ``activation_error`` for anything else an
Element's own code raised during activation, and ``data_roundtrip`` when declared
tables do not give back the rows put into them (:mod:`harness.roundtrip`). Each
check runs in its own process (:mod:`harness.isolation`), which adds
``process_exit`` (the Element raised ``SystemExit`` or ``KeyboardInterrupt``, or
ended the process with ``os._exit``), ``crash`` (the process died of a signal) and
``global_state`` (threads left running, the working directory or ``dj.config``
changed).

The message names the Element module, the table and the definition line when
they can be known; the table being declared is read from DataJoint's own frame
(``_decorate_table``'s ``table_class``) in the traceback, so no guessing is needed.
"""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from harness.enums import StrEnum
from harness.redact import redact_text


class FailureClass(StrEnum):
    """Why a check failed: the vocabulary of reports and pytest messages (see above)."""

    IMPORT_ERROR = "import_error"
    UNRESOLVED_REFERENCE = "unresolved_reference"
    MISSING_LINKING_FUNCTION = "missing_linking_function"
    DECLARATION_ERROR = "declaration_error"
    NAMESPACE_VIOLATION = "namespace_violation"
    UNSUPPORTED_DATAJOINT = "unsupported_datajoint"
    TIMEOUT = "timeout"
    SERVER_ERROR = "server_error"
    ACTIVATION_ERROR = "activation_error"
    DATA_ROUNDTRIP = "data_roundtrip"
    PROCESS_EXIT = "process_exit"
    CRASH = "crash"
    GLOBAL_STATE = "global_state"


FAILURE_CLASSES = tuple(FailureClass)

_DJ_MISSING_API = re.compile(r"module 'datajoint' has no attribute '(?P<name>\w+)'")
_UNRESOLVED = re.compile(
    r"(?:Foreign key reference|reference) (?P<name>[\w.]+) could not be "
    r"resolved",
    re.IGNORECASE,
)
_MISSING_SERVER_TYPE = re.compile(r'type "(?P<type>[\w ]+)" does not exist')
_UNSUPPORTED_TYPE = re.compile(r"unsupported attribute type", re.IGNORECASE)
_ACCESS_DENIED_DB = re.compile(
    r"(?:to database|schema|Database) [`'\"](?P<schema>[^`'\"]+)[`'\"]", re.IGNORECASE
)
#: Lost, refused or unreachable (2002/2003: cannot connect, e.g. a killed server).
_SERVER_GONE_CODES = {2002, 2003, 2006, 2013, 2014, 2055, 1927}
_ACCESS_CODES = {1044, 1045, 1142, 1227}

_REPLACEMENTS = {
    "schema": "dj.Schema",
    "ERD": "dj.Diagram",
    "create_virtual_module": "dj.VirtualModule",
}


@dataclass
class Failure:
    """A classified failure of one of the :class:`FailureClass` classes."""

    class_: FailureClass
    message: str
    module: str | None = None
    table: str | None = None
    file: str | None = None
    line: int | None = None
    hint: str | None = None

    def __post_init__(self) -> None:
        self.class_ = FailureClass(self.class_)  # a report read back gives the plain string

    def to_dict(self) -> dict[str, Any]:
        return {
            "class": self.class_,
            "message": self.message,
            "module": self.module,
            "table": self.table,
            "file": self.file,
            "line": self.line,
            "hint": self.hint,
        }

    def render(self) -> str:
        where = ""
        if self.file and self.line:
            where = f" ({self.file}:{self.line})"
        text = f"{self.class_}: {self.message}{where}"
        return text + (f"\n  hint: {self.hint}" if self.hint else "")


def _declaring_table(tb: TracebackType | None) -> Any:
    """The table class DataJoint was declaring when the error was raised, if any."""
    found = None
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name in {"_decorate_table", "declare"}:
            candidate = frame.f_locals.get("table_class") or frame.f_locals.get("self")
            if isinstance(candidate, type):
                found = candidate
            elif candidate is not None and hasattr(candidate, "definition"):
                found = type(candidate)
        tb = tb.tb_next
    return found


def element_frame(tb: TracebackType | None, packages: tuple[str, ...]) -> tuple[str, int] | None:
    """Innermost traceback frame inside the Element's own code."""
    found = None
    for frame_summary in traceback.extract_tb(tb):
        module_file = frame_summary.filename
        if any(
            f"/{package}/" in module_file or module_file.endswith(f"/{package}.py")
            for package in packages
        ):
            found = (module_file, frame_summary.lineno or 0)
    return found


def _raised_by_datajoint_config(tb: TracebackType | None) -> bool:
    """Whether the innermost frames are DataJoint's settings code (dj.config access)."""
    frames = traceback.extract_tb(tb)
    return any(
        frame.filename.endswith(("/datajoint/settings.py", "/datajoint/instance.py"))
        for frame in frames[-3:]
    )


def _definition_line_for(table_class: Any, message: str) -> tuple[str | None, int | None]:
    """Locate the definition line quoted in a DataJoint error, in the source file."""
    import inspect

    definition = getattr(table_class, "definition", "")
    if not isinstance(definition, str):
        return None, None
    try:
        lines, start = inspect.getsourcelines(table_class)
        file = inspect.getsourcefile(table_class)
    except (OSError, TypeError):
        return None, None
    candidates = [line.strip() for line in definition.splitlines() if line.strip()]
    for candidate in sorted(candidates, key=len, reverse=True):
        if candidate in message or candidate.split("#")[0].strip() in message:
            for offset, source_line in enumerate(lines):
                if candidate in source_line:
                    return file, start + offset
    # "Unsupported attribute type no_such_type" quotes the type, not the line.
    for candidate in candidates:
        declared = candidate.split("#")[0]
        if declared.startswith("->") or ":" not in declared:
            continue
        type_text = declared.split(":", 1)[1].strip()
        if len(type_text) > 2 and re.search(rf"(?<![\w(]){re.escape(type_text)}(?![\w(])", message):
            for offset, source_line in enumerate(lines):
                if candidate in source_line:
                    return file, start + offset
    return file, start


def _table_name(table_class: Any) -> str | None:
    if table_class is None:
        return None
    master = getattr(table_class, "_master", None)
    name = table_class.__name__
    return f"{master.__name__}.{name}" if master is not None else name


#: What to do about a server that failed under a check, wherever that was noticed.
SERVER_GONE_HINT = (
    "check that the server is running and reachable (a killed container, a restarted "
    "server, a network failure), then run again"
)


def server_gone(exc: BaseException) -> bool:
    """Whether ``exc`` says the connection to the server failed, not the statement on it.

    A killed container, a restarted server or a dropped network: what the Element
    did is not at fault, and every step that meets it reports ``server_error``.
    """
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    lowered = str(exc).lower()
    return (
        code in _SERVER_GONE_CODES
        or "lost connection" in lowered
        or "server has gone" in lowered
        or type(exc).__name__ in {"LostConnectionError", "InterfaceError"}
    )


def classify(
    exc: BaseException,
    *,
    phase: str,
    module: str | None,
    packages: tuple[str, ...],
    prefix: str,
    linking_module: Any = None,
) -> Failure:
    """Classify ``exc`` raised while ``phase`` ("import" or "activate") ran ``module``."""
    text = redact_text(f"{type(exc).__name__}: {exc}".strip())
    table_class = _declaring_table(exc.__traceback__)
    table = _table_name(table_class)
    frame = element_frame(exc.__traceback__, packages)
    file, line = frame if frame else (None, None)

    missing_api = _DJ_MISSING_API.search(str(exc))
    if isinstance(exc, AttributeError) and missing_api:
        name = missing_api.group("name")
        replacement = _REPLACEMENTS.get(name)
        from harness.activation import compat

        return Failure(
            FailureClass.UNSUPPORTED_DATAJOINT,
            f"{module} uses dj.{name}, which DataJoint {compat.version()} does not have",
            module=module,
            file=file,
            line=line,
            hint=f"use {replacement}"
            if replacement
            else "pin a DataJoint version the Element supports",
        )
    if _raised_by_datajoint_config(exc.__traceback__) or "Setting '" in str(exc):
        from harness.activation import compat

        return Failure(
            FailureClass.UNSUPPORTED_DATAJOINT,
            f"{module} uses dj.config in a way DataJoint {compat.version()} rejects: {text}",
            module=module,
            file=file,
            line=line,
            hint="DataJoint 2.x validates its settings: keep custom values out of dj.config "
            "(the `custom` key and removed keys such as enable_python_native_blobs)",
        )
    if phase == "import":
        if isinstance(exc, SyntaxError):
            return Failure(
                FailureClass.IMPORT_ERROR,
                f"{module} has a syntax error: {exc.msg}",
                module=module,
                file=exc.filename,
                line=exc.lineno,
                hint="fix the syntax error in the Element",
            )
        if isinstance(exc, ImportError):
            missing = getattr(exc, "name", None) or "?"
            return Failure(
                FailureClass.IMPORT_ERROR,
                f"{module} cannot be imported: {text}",
                module=module,
                file=file,
                line=line,
                # A dependency's missing import carries its own hint (it is never stubbed).
                hint=getattr(exc, "hint", None)
                or f"install {missing!r}, or list it in the spec's [check].stubs "
                "(or pass --stub-missing) if the schema does not need it",
            )
        return Failure(
            FailureClass.IMPORT_ERROR,
            f"{module} raised at import: {text}",
            module=module,
            file=file,
            line=line,
            hint="fix the code that runs at import (the line shown); a module must import "
            "without a server, data or configuration",
        )

    from harness.activation import compat

    dj = compat.datajoint()
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    lowered = str(exc).lower()
    if isinstance(exc, TimeoutError):
        return Failure(
            FailureClass.TIMEOUT,
            f"{module}: {exc}",
            module=module,
            hint="raise [check].timeout / --timeout, or find what blocks activate()",
        )
    if (
        code in _ACCESS_CODES
        or "access denied" in lowered
        or "permission denied" in lowered
        or "could not be created. check permissions" in lowered
    ):
        schema_match = _ACCESS_DENIED_DB.search(str(exc))
        schema = schema_match.group("schema") if schema_match else None
        if schema is None or not schema.startswith(prefix + "_"):
            named = f"schema {schema!r}" if schema else "a schema"
            return Failure(
                FailureClass.NAMESPACE_VIOLATION,
                f"{module} tried to use {named} outside its namespace {prefix}_*: {text}",
                module=module,
                table=table,
                file=file,
                line=line,
                hint="derive every schema name from the activate() arguments",
            )
    if server_gone(exc):
        return Failure(
            FailureClass.SERVER_ERROR,
            f"{module}: the database connection failed: {text}",
            module=module,
            table=table,
            hint=SERVER_GONE_HINT,
        )
    unresolved = _UNRESOLVED.search(str(exc))
    if unresolved:
        file, line = _definition_line_for(table_class, unresolved.group("name"))
        return Failure(
            FailureClass.UNRESOLVED_REFERENCE,
            f"{module}.{table}: reference {unresolved.group('name')!r} could not be resolved",
            module=module,
            table=table,
            file=file,
            line=line,
            hint="define or import the referenced table, or fix its name",
        )
    missing_type = _MISSING_SERVER_TYPE.search(str(exc))
    if missing_type:
        type_name = missing_type.group("type")
        file, line = _definition_line_for(table_class, type_name)
        return Failure(
            FailureClass.UNSUPPORTED_DATAJOINT,
            f"{module}.{table}: the server has no type {type_name!r} (a MySQL-only native type)",
            module=module,
            table=table,
            file=file,
            line=line,
            hint="declare portable DataJoint types (<blob> instead of longblob) to run on "
            "PostgreSQL",
        )
    if _UNSUPPORTED_TYPE.search(str(exc)):
        file, line = _definition_line_for(table_class, str(exc))
        return Failure(
            FailureClass.UNSUPPORTED_DATAJOINT,
            f"{module}.{table}: {text} (DataJoint {compat.version()})",
            module=module,
            table=table,
            file=file,
            line=line,
            hint="use a type this DataJoint version supports (2.x: bool -> "
            "tinyint or <bool>, attach -> <attach>)",
        )
    if (
        linking_module is not None
        and isinstance(exc, (AttributeError, AssertionError))
        and (
            getattr(exc, "obj", None) is linking_module
            or "linking" in lowered
            or (linking_module.__name__ in str(exc))
        )
    ):
        name = getattr(exc, "name", None)
        return Failure(
            FailureClass.MISSING_LINKING_FUNCTION,
            f"{module}: the linking module lacks what activate() needs"
            + (f": {name!r}" if name else f" ({text})"),
            module=module,
            file=file,
            line=line,
            hint="name the function in the spec's [mock].functions, or make the "
            "Element look it up statically (hasattr/attribute access)",
        )
    if table is not None and isinstance(exc, dj.DataJointError):
        file, line = _definition_line_for(table_class, str(exc))
        return Failure(
            FailureClass.DECLARATION_ERROR,
            f"{module}.{table}: {text}",
            module=module,
            table=table,
            file=file,
            line=line,
            hint="fix the table definition at the line shown",
        )
    if isinstance(exc, dj.DataJointError) and "could not be created" in lowered:
        return Failure(
            FailureClass.NAMESPACE_VIOLATION,
            f"{module}: {text}",
            module=module,
            hint="derive every schema name from the activate() arguments",
        )
    return Failure(
        FailureClass.ACTIVATION_ERROR,
        f"{module}: {text}",
        module=module,
        table=table,
        file=file,
        line=line,
        hint="the Element's own code raised while activating: fix it at the line shown",
    )
