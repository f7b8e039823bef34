"""The one place that knows how DataJoint 0.14.x and 2.x differ for the harness.

Connection and config set-up, TLS (DataJoint 0.14 insists on TLS by default,
which MariaDB images do not offer), the backend key (2.x only), refusing a server
this DataJoint cannot use, and how to forget the global connection between
checks. What differs between *servers* (which DataJoint versions, which config
value, which TLS policy) is asked of the backend adapters (:mod:`harness.db.backends`).
"""

from __future__ import annotations

import contextlib
import copy
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from harness.db.backends import BACKENDS, get_backend
from harness.errors import ConfigurationError

if TYPE_CHECKING:
    from harness.db.tls import TlsSettings


def datajoint() -> Any:
    """The datajoint module, imported without its "no datajoint.json" start-up warning.

    The harness configures DataJoint itself, so that warning is noise to its users.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*datajoint.json")
        import datajoint
    return datajoint


def major_version() -> int:
    """DataJoint's major version (0 for the 0.14 line, 2 for 2.x)."""
    return int(str(datajoint().__version__).split(".")[0])


def version() -> str:
    return str(datajoint().__version__)


def installed_version() -> str | None:
    """DataJoint's version from its package metadata, without importing it (seconds).

    None when no distribution is installed under that name (then importing tells).
    """
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as distribution_version

    try:
        return distribution_version("datajoint")
    except PackageNotFoundError:
        return None


def supports_backend(backend: str, datajoint: str | None = None) -> bool:
    """Whether DataJoint (the installed one, or version ``datajoint``) can use ``backend``.

    ``datajoint`` names another version than the installed one (a release check's
    side runs in an environment of its own).
    """
    major = int(datajoint.split(".")[0]) if datajoint else major_version()
    return get_backend(backend).supports_datajoint(major)


def require_backend_support(backend: str, datajoint: str | None = None) -> None:
    """Refuse, with what to do, a server this DataJoint (or version ``datajoint``) cannot use."""
    if not supports_backend(backend, datajoint):
        server = get_backend(backend)
        major = int(datajoint.split(".")[0]) if datajoint else major_version()
        usable = [b.name for b in BACKENDS.values() if b.supports_datajoint(major)]
        raise ConfigurationError(
            f"DataJoint {datajoint or version()} cannot use a {backend} server ({server.title} "
            f"support arrived in DataJoint {server.min_datajoint_major}.0)",
            hint=f"use {' or '.join('--db ' + name for name in usable)}, or install "
            f"datajoint>={server.min_datajoint_major}",
        )


def _config_settings(
    host: str, port: int, user: str, password: str, backend: str
) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "database.host": host,
        "database.port": port,
        "database.user": user,
        "database.password": password,
        # Throw-away local servers offer no certificates; MariaDB images refuse TLS.
        "database.use_tls": False,
        "safemode": False,
    }
    if major_version() >= 2:
        settings["database.backend"] = get_backend(backend).datajoint_backend
    return settings


def _get(config: Any, key: str) -> Any:
    try:
        return config[key]
    except KeyError:
        return None


def _reset_connection() -> None:
    """Forget DataJoint's global connection so the next one uses fresh settings."""
    dj = datajoint()
    if major_version() >= 2:
        import datajoint.instance as instance_module

        current = getattr(instance_module, "_singleton_connection", None)
        if current is not None:
            with contextlib.suppress(Exception):
                current.close()
        instance_module._singleton_connection = None
        return
    current = getattr(dj.conn, "connection", None)
    if current is not None:
        with contextlib.suppress(Exception):
            current.close()
        del dj.conn.connection


def _without_tls(host: str, port: int, user: str, password: str) -> Any:
    """DataJoint's global connection, made with TLS off in the driver too; installed.

    ``database.use_tls = False`` leaves PyMySQL (1.2) in its "preferred" mode, which
    still negotiates TLS when the server offers it: about 30 ms of CPU per connection,
    for nothing on a loopback server. A subclass of DataJoint's own ``Connection``
    asks the driver for ``ssl_disabled`` (also on reconnects); everything else is
    DataJoint's.
    """
    dj = datajoint()
    from datajoint.connection import Connection

    if major_version() >= 2:
        import datajoint.instance as instance_module

        class _Plain2(Connection):  # type: ignore[misc, valid-type]
            def _build_connect_kwargs(self, use_tls: Any = None) -> dict[str, Any]:
                kwargs: dict[str, Any] = super()._build_connect_kwargs(use_tls)
                if kwargs.get("use_tls") is None:
                    kwargs["use_tls"] = False  # the MySQL adapter: ssl_disabled=True
                return kwargs

        instance_module._singleton_connection = _Plain2(
            host, user, password, port, False, config_override=instance_module._global_config
        )
        return dj.conn()

    class _Plain014(Connection):  # type: ignore[misc, valid-type]
        def connect(self) -> None:
            self.conn_info["ssl_disabled"] = True  # passed through to pymysql.connect
            super().connect()

    init_fun = dj.config["connection.init_function"]
    dj.conn.connection = _Plain014(host, user, password, port, init_fun, False)
    return dj.conn()


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` set, restored afterwards."""
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _with_tls(
    host: str, port: int, user: str, password: str, use_tls: Any, extra: dict[str, Any]
) -> Any:
    """DataJoint's global connection with TLS verified; installed.

    DataJoint's ``use_tls`` config key is a boolean only in 2.x, so the options go
    to the connection itself (``use_tls=dict``, which both lines hand to the
    driver). ``extra`` are keywords DataJoint 2's adapter gets besides: its
    PostgreSQL adapter turns any ``use_tls`` into ``sslmode=require`` (no
    verification) unless given an explicit ``sslmode``, which a subclass of its
    ``Connection`` adds (also on reconnects).
    """
    dj = datajoint()
    if major_version() < 2:
        return dj.conn(host, user, password, reset=True, use_tls=use_tls)
    import datajoint.instance as instance_module
    from datajoint.connection import Connection

    class _Verified(Connection):  # type: ignore[misc, valid-type]
        def _build_connect_kwargs(self, use_tls: Any = None) -> dict[str, Any]:
            kwargs: dict[str, Any] = super()._build_connect_kwargs(use_tls)
            kwargs.update(extra)
            return kwargs

    instance_module._singleton_connection = _Verified(
        host, user, password, port, use_tls, config_override=instance_module._global_config
    )
    return dj.conn()


@contextlib.contextmanager
def connected(
    host: str, port: int, user: str, password: str, backend: str, tls: TlsSettings | None = None
) -> Iterator[Any]:
    """Point DataJoint's global config and connection at a server for one check.

    The previous config values are restored and the connection forgotten on exit,
    so checks in the same process do not leak settings into each other. With
    ``tls`` the connection verifies the server's certificate, or fails.
    """
    require_backend_support(backend)
    dj = datajoint()
    wanted = _config_settings(host, port, user, password, backend)
    previous = {key: _get(dj.config, key) for key in wanted}
    _reset_connection()
    use_tls: Any = None
    extra: dict[str, Any] = {}
    environ: dict[str, str] = {}
    if tls is not None:
        use_tls, extra, environ = get_backend(backend).datajoint_tls(tls)
    try:
        for key, value in wanted.items():
            dj.config[key] = value
        with _environment(environ):
            if tls is not None:
                yield _with_tls(host, port, user, password, use_tls, extra)
            elif get_backend(backend).wants_plain_connection(host):
                yield _without_tls(host, port, user, password)
            else:
                yield dj.conn(reset=True)
    finally:
        _reset_connection()
        for key, value in previous.items():
            with contextlib.suppress(Exception):
                dj.config[key] = value


def schema_classes() -> tuple[type, ...]:
    """Classes whose instances are DataJoint schema objects (``dj.Schema`` and its base)."""
    dj = datajoint()
    from datajoint import schemas

    # 0.14: datajoint.schemas.Schema; 2.x: dj.Schema subclasses datajoint.schemas._Schema.
    base = getattr(schemas, "_Schema", None) or getattr(schemas, "Schema", dj.Schema)
    return (base,)


#: Where DataJoint's workflow repositories read their schema prefix from.
WORKFLOW_PREFIX_KEY = "database.prefix"
WORKFLOW_PREFIX_ENV = "DATABASE_PREFIX"


@contextlib.contextmanager
def workflow_prefix(prefix: str) -> Iterator[None]:
    """A lab's pipeline module, imported inside, names its schemas ``prefix + "<name>"``.

    The workflows read ``dj.config["custom"]["database.prefix"]`` (DataJoint 0.14,
    which keeps any key) and, in their packages and tests, the ``DATABASE_PREFIX``
    environment variable. DataJoint 2 rejects the ``custom`` key (its settings
    accept known keys only), so there the variable is the only channel. Both are
    restored exactly afterwards: the check's process must end as it began.
    """
    dj = datajoint()
    environ_before = os.environ.get(WORKFLOW_PREFIX_ENV)
    keeps_custom = major_version() < 2
    had_custom = keeps_custom and "custom" in dj.config
    custom_before = copy.deepcopy(dj.config["custom"]) if had_custom else None
    os.environ[WORKFLOW_PREFIX_ENV] = prefix
    if keeps_custom:
        dj.config["custom"] = {**(custom_before or {}), WORKFLOW_PREFIX_KEY: prefix}
    try:
        yield
    finally:
        if environ_before is None:
            os.environ.pop(WORKFLOW_PREFIX_ENV, None)
        else:
            os.environ[WORKFLOW_PREFIX_ENV] = environ_before
        if had_custom:
            dj.config["custom"] = custom_before
        elif keeps_custom and "custom" in dj.config:
            del dj.config["custom"]
