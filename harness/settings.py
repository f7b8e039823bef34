"""Every user-facing option, declared once.

Each option is reachable four ways: a ``harness`` CLI flag (``--db``), a
pytest flag in the ``harness`` group (``--harness-db``), an environment
variable (``HARNESS_DB``) and a key of ``[tool.harness]`` in pyproject.toml
(``db``). Declaring an option once here, like pytest registers ini keys in one
place, keeps the four from drifting apart and lets ``docs/configuration.md``
be checked against this table by a test.

Precedence: command line, then environment, then pyproject.toml, then default.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from harness.errors import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean (1/0, true/false, yes/no), got {text!r}")


def _parse_backend(text: str) -> str:
    # Imported here: loading the pytest plugin imports this module, and no harness.db
    # module may load in a project that does not use the harness.
    from harness.db.backends import BACKENDS, canonical_name

    canonical = canonical_name(text)
    if canonical is None:
        known = ", ".join(sorted(BACKENDS))
        raise ValueError(f"unknown backend {text!r}; known backends: {known}")
    return canonical


def _parse_list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected a whole number, got {text!r}") from None


def _parse_positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a positive number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):  # nan and inf would break thread joins
        raise ValueError(f"expected a positive number of seconds, got {text!r}")
    return value


def _parse_jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"expected a positive whole number of checks, got {text!r}") from None
    if value < 1:
        raise ValueError(f"expected a positive whole number of checks, got {text!r}")
    return value


@dataclass(frozen=True)
class Option:
    """One setting and the four spellings it is reachable by."""

    name: str
    help: str
    default: Any
    parse: Callable[[str], Any] = str
    kind: str = "str"  # "str", "bool", "float", "int", "list": how flags and TOML values are read
    metavar: str | None = None
    #: Which commands take it: "server" (every command that starts a server), "check"
    #: (commands that check Elements), "pytest" (only the pytest plugin).
    group: str = "server"
    #: Flag stem when it differs from the name (``--harness-element``, repeatable).
    flag: str | None = None
    #: A filesystem path: made absolute when resolved, a relative value in
    #: ``[tool.harness]`` taken from the pyproject.toml's directory (so it means the same
    #: wherever pytest or the CLI is started), one on the command line or in the
    #: environment from the current directory.
    path: bool = False
    #: A boolean that is on by default and turned off by its flag: ``--no-data``,
    #: ``HARNESS_NO_DATA=1``, but ``data = false`` in ``[tool.harness]``.
    negated: bool = False

    @property
    def _stem(self) -> str:
        return ("no_" if self.negated else "") + (self.flag or self.name)

    @property
    def cli_flag(self) -> str:
        return "--" + self._stem.replace("_", "-")

    @property
    def pytest_flag(self) -> str:
        return "--harness-" + self._stem.replace("_", "-")

    @property
    def env_var(self) -> str:
        return "HARNESS_" + ("NO_" if self.negated else "") + self.name.upper()

    @property
    def ini_key(self) -> str:
        return self.name


OPTIONS: tuple[Option, ...] = (
    Option(
        "db",
        "database backend to start: mysql, mariadb or postgresql",
        "mysql",
        _parse_backend,
        metavar="BACKEND",
    ),
    Option(
        "image",
        "container image for the server (default: the official image for the "
        "backend when present, else the locally built element-harness image)",
        None,
        metavar="IMAGE",
    ),
    Option(
        "external",
        "use an existing server instead of a container, e.g. "
        "mysql://user:pass@host:3306 (DJ_HOST/DJ_PORT/DJ_USER/DJ_PASS are used when set)",
        None,
        metavar="URL",
    ),
    Option(
        "tls",
        "connect to the external server with TLS, verifying its certificate chain and "
        "host name (against --tls-ca, else the system's CAs)",
        False,
        _parse_bool,
        kind="bool",
    ),
    Option(
        "tls_ca",
        "PEM file of the CA that signed the external server's certificate (implies --tls)",
        None,
        metavar="FILE",
        path=True,
    ),
    Option(
        "insecure",
        "allow sending the password to an external server that is not on this machine without TLS",
        False,
        _parse_bool,
        kind="bool",
    ),
    Option(
        "reuse",
        "keep the server container after the run and reuse it next time "
        "(remove with `harness down`)",
        False,
        _parse_bool,
        kind="bool",
    ),
    Option(
        "startup_timeout",
        "seconds to wait for a server to accept SQL",
        120.0,
        _parse_positive_float,
        kind="float",
        metavar="SECONDS",
    ),
    Option(
        "timeout",
        "seconds allowed for each Element's activate() call before it is reported as a timeout",
        120.0,
        _parse_positive_float,
        kind="float",
        metavar="SECONDS",
        group="check",
    ),
    Option(
        "jobs",
        "how many Elements to check at once, each in a process of its own "
        "(default: the number of cores)",
        None,
        _parse_jobs,
        kind="int",
        metavar="N",
        group="check",
    ),
    Option(
        "stub_missing",
        "stub every package an Element imports that is not installed (reported, never silent)",
        False,
        _parse_bool,
        kind="bool",
        group="check",
    ),
    Option(
        "update_manifests",
        "write each checked Element's manifest (into --manifest-dir when given, else "
        "elements/manifests/) instead of comparing with it (review the change, then commit it)",
        False,
        _parse_bool,
        kind="bool",
        group="check",
    ),
    Option(
        "manifest_dir",
        "directory of reviewed manifests, looked in first (spec names fall back to the "
        "bundled ones) and written by --update-manifests; relative in [tool.harness]: to "
        "the pyproject.toml's directory",
        None,
        metavar="DIR",
        group="check",
        path=True,
    ),
    Option(
        "data",
        "skip the data round-trip check (synthesized rows inserted into every table, "
        "read back and deleted)",
        True,
        _parse_bool,
        kind="bool",
        group="check",
        negated=True,
    ),
    Option(
        "data_seed",
        "seed of the data round-trip's synthesized rows (default: derived from the Element's "
        "name and version, recorded in the report); give a report's seed to replay it",
        None,
        _parse_int,
        kind="int",
        metavar="SEED",
        group="check",
    ),
    Option(
        "elements",
        "Element to check as a test item (spec name, package, module or directory); "
        "repeatable, comma-separated in the environment variable",
        (),
        _parse_list,
        kind="list",
        metavar="TARGET",
        group="pytest",
        flag="element",
    ),
    Option(
        "report",
        "write every report format (report.json, junit.xml, report.md, report.html) "
        "into this directory when the session ends",
        None,
        metavar="DIR",
        group="pytest",
        flag="report",
    ),
)
OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}


@dataclass(frozen=True)
class Settings:
    """Resolved values of every option in :data:`OPTIONS`."""

    db: str = "mysql"
    image: str | None = None
    external: str | None = None
    tls: bool = False
    #: Absolute (see :attr:`Option.path`).
    tls_ca: str | None = None
    insecure: bool = False
    reuse: bool = False
    startup_timeout: float = 120.0
    timeout: float = 120.0
    jobs: int | None = None
    stub_missing: bool = False
    update_manifests: bool = False
    #: Absolute (see :attr:`Option.path`); None: the manifests beside the spec or bundled.
    manifest_dir: str | None = None
    data: bool = True
    data_seed: int | None = None
    elements: tuple[str, ...] = ()
    report: str | None = None
    #: Where each value came from ("default", "pyproject.toml", "HARNESS_DB", "--db").
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)


def _coerce_toml(option: Option, value: Any, origin: str) -> Any:
    """Check a pyproject value's TOML type and convert it like a string would be."""
    expected: dict[str, tuple[type, ...]] = {
        "str": (str,),
        "bool": (bool,),
        "int": (int,),
        "float": (int, float),
        "list": (list,),
    }
    wrong_items = option.kind == "list" and any(not isinstance(item, str) for item in value)
    if (
        not isinstance(value, expected[option.kind])
        or (option.kind in {"float", "int"} and isinstance(value, bool))
        or wrong_items
    ):
        raise ConfigurationError(
            f"{origin}: key {option.ini_key!r} must be a {option.kind}, "
            f"got {type(value).__name__} {value!r}",
            hint=f"{option.ini_key}: {option.help}",
        )
    if option.kind == "list":
        return tuple(value)
    return option.parse(str(value)) if option.kind != "bool" else value


def _absolute(text: str, base: Path) -> Path:
    """``text`` (``~`` expanded) as an absolute path, relative ones taken from ``base``."""
    path = Path(text).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def load_pyproject_table(start: Path) -> tuple[dict[str, Any], Path | None]:
    """Return ``[tool.harness]`` of the nearest pyproject.toml at or above ``start``."""
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigurationError(
                    f"{candidate}: not valid TOML: {exc}", hint="fix the file's syntax"
                ) from None
            table = data.get("tool", {}).get("harness", {})
            if not isinstance(table, dict):
                raise ConfigurationError(f"{candidate}: [tool.harness] must be a table")
            return table, candidate
    return {}, None


def resolve_settings(
    cli_values: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    pyproject: Mapping[str, Any] | None = None,
    pyproject_path: Path | None = None,
    *,
    known_extra_keys: frozenset[str] = frozenset(),
) -> Settings:
    """Combine command line, environment and pyproject values into :class:`Settings`.

    ``cli_values`` maps option names to already-parsed values, ``None`` meaning
    "not given". Unknown pyproject keys are an error naming the file and key,
    because a misspelt key silently ignored is a setting the user thinks they have.
    ``known_extra_keys`` are keys owned by other parts of the harness (for example
    ``elements``), accepted here without being interpreted.
    """
    cli_values = cli_values or {}
    environ = os.environ if environ is None else environ
    pyproject = pyproject or {}
    origin = str(pyproject_path or "pyproject.toml") + " [tool.harness]"
    normalised = {key.replace("-", "_"): (key, value) for key, value in pyproject.items()}
    for key, (spelling, _) in normalised.items():
        if key not in OPTIONS_BY_NAME and key not in known_extra_keys:
            known = ", ".join(sorted(set(OPTIONS_BY_NAME) | known_extra_keys))
            raise ConfigurationError(
                f"{origin}: unknown key {spelling!r}", hint=f"known keys: {known}"
            )
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        relative_to = Path.cwd()  # for path options; a pyproject value: its file's directory
        if cli_values.get(option.name) is not None:
            # A negated option's flag (``--no-data``) arrives as True: "turn it off".
            given = cli_values[option.name]
            values[option.name] = (not given) if option.negated else given
            sources[option.name] = "command line"
        elif environ.get(option.env_var) not in (None, ""):
            raw = environ[option.env_var]
            try:
                parsed = option.parse(raw)
            except ValueError as exc:
                raise ConfigurationError(
                    f"environment variable {option.env_var}: {exc}", hint=option.help
                ) from None
            values[option.name] = (not parsed) if option.negated else parsed
            sources[option.name] = option.env_var
        elif option.name in normalised:
            spelling, raw_value = normalised[option.name]
            try:
                values[option.name] = _coerce_toml(option, raw_value, origin)
            except ValueError as exc:
                raise ConfigurationError(
                    f"{origin}: key {spelling!r}: {exc}", hint=option.help
                ) from None
            sources[option.name] = str(pyproject_path or "pyproject.toml")
            if pyproject_path is not None:
                relative_to = pyproject_path.parent
        else:
            values[option.name], sources[option.name] = option.default, "default"
        if option.path and values[option.name] is not None:
            values[option.name] = str(_absolute(str(values[option.name]), relative_to))
    names = {f.name for f in fields(Settings)} - {"sources"}
    assert names == set(OPTIONS_BY_NAME), "Settings and OPTIONS must list the same options"
    return Settings(**values, sources=sources)
