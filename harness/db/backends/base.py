"""What every backend module provides."""

from __future__ import annotations

import ipaddress
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from harness.db.catalog import Table
    from harness.db.tls import TlsSettings

#: Schema holding the harness's namespace registry (see harness/db/registry.py).
REGISTRY_SCHEMA = "element_harness"
#: Host names that reach this machine only.
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


#: Addresses verified to reach a container on a bridge of this machine (direct routes).
_HOST_LOCAL: set[str] = set()


def register_host_local(address: str) -> None:
    """Treat ``address`` like loopback: traffic to it never leaves this machine."""
    _HOST_LOCAL.add(address)


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (where TLS protects nothing).

    Besides loopback itself: addresses registered by :func:`register_host_local`.
    """
    if host in LOOPBACK_HOSTS or host in _HOST_LOCAL:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback  # all of 127.0.0.0/8
    except ValueError:
        return False


class Backend(ABC):
    """How to run, reach and query one kind of database server.

    Subclasses hold no state: one instance per backend is shared process-wide.
    """

    #: Canonical name used in options, URLs, labels and reports.
    name: ClassVar[str]
    #: Port the server listens on inside its container.
    port: ClassVar[int]
    #: Image used when neither an option nor a locally built image says otherwise.
    default_image: ClassVar[str]
    #: Data directory inside the container (mounted as tmpfs for speed).
    data_dir: ClassVar[str]
    #: Longest schema name the server accepts.
    max_schema_name: ClassVar[int]
    #: Administrative account created by the image's entrypoint.
    admin_user: ClassVar[str]
    #: URL schemes that select this backend in ``--external``.
    url_schemes: ClassVar[tuple[str, ...]]
    #: Other spellings accepted wherever a backend is named (``--db``, matrices, images).
    aliases: ClassVar[tuple[str, ...]] = ()
    #: How tables and reports name it.
    title: ClassVar[str]
    #: The oldest DataJoint major version that can use this server.
    min_datajoint_major: ClassVar[int] = 0
    #: DataJoint 2.x's ``database.backend`` setting for this server (0.14 has none).
    datajoint_backend: ClassVar[str]
    #: Suffix of this server's manifests: "" shares the MySQL-protocol manifests (their
    #: spellings are normalised); PostgreSQL's types and defaults differ, so it has its own.
    manifest_family: ClassVar[str] = ""
    #: Whether a connection to a loopback server turns TLS off in the driver as well.
    #: Throw-away local MySQL-protocol servers offer no certificate worth checking and
    #: negotiating costs ~30 ms of CPU per connection; PostgreSQL's driver does not
    #: negotiate unless asked.
    plain_on_loopback: ClassVar[bool] = False

    def supports_datajoint(self, major: int) -> bool:
        """Whether DataJoint of major version ``major`` (0 for 0.14) can use this server."""
        return major >= self.min_datajoint_major

    def identify(self, version: str) -> str:
        """The backend actually answering, from its version string (MariaDB speaks MySQL)."""
        return self.name

    def wants_plain_connection(self, host: str) -> bool:
        """Whether DataJoint's connection to ``host`` should have TLS off in the driver."""
        return self.plain_on_loopback and is_loopback(host)

    @abstractmethod
    def container_env(self, admin_password: str) -> dict[str, str]:
        """Environment that makes the official image (and ours) set the admin password."""

    @abstractmethod
    def connect(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        *,
        database: str | None = None,
        timeout: float = 5.0,
        tls: TlsSettings | None = None,
    ) -> Any:
        """A DB-API connection; raises one of :meth:`driver_errors` when it cannot.

        With ``tls`` the connection is TLS with the server's chain and name verified,
        or it fails; without, a loopback server is reached in the clear.
        """

    @abstractmethod
    def datajoint_tls(
        self, tls: TlsSettings
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
        """How DataJoint's connection is made to verify TLS the same way.

        ``(use_tls, extra connect keywords, environment)``: the ``use_tls`` value
        for ``dj.conn`` / ``Connection``, keywords DataJoint 2's adapter is given
        besides, and environment variables its driver reads while connecting.
        """

    @abstractmethod
    def driver_errors(self) -> tuple[type[BaseException], ...]:
        """Exceptions meaning "the server is not (yet) reachable or refused us"."""

    @abstractmethod
    def version_query(self) -> str:
        """SQL returning the server's version string as the only value."""

    # -- namespaces: a schema prefix and a user confined to it ---------------------------

    @abstractmethod
    def create_namespace_user(
        self, connection: Any, user: str, password: str, prefix: str, schemas: list[str]
    ) -> None:
        """Create ``user`` with privileges on schemas named ``<prefix>_*`` only.

        ``schemas`` are the names the plan expects; backends that cannot grant by
        pattern create them up front, owned by the user.
        """

    @abstractmethod
    def namespace_schemas(self, connection: Any, prefix: str) -> list[str]:
        """Schemas whose name starts with ``<prefix>_``, sorted."""

    @abstractmethod
    def all_schemas(self, connection: Any, *, include_registry: bool = False) -> set[str]:
        """Every user schema on the server (system schemas and, unless asked, the
        harness's own registry excluded)."""

    @abstractmethod
    def end_sessions(self, connection: Any, user: str) -> None:
        """Terminate every session of ``user`` (a hung activation, or before dropping)."""

    @abstractmethod
    def drop_namespace(self, connection: Any, user: str, prefix: str) -> None:
        """End the user's sessions, drop every schema of the namespace and the user."""

    @abstractmethod
    def user_exists(self, connection: Any, user: str) -> bool:
        """Whether the database account ``user`` exists."""

    @abstractmethod
    def read_catalog(self, connection: Any, prefix: str) -> list[Table]:
        """Every DataJoint table in the schemas of namespace ``prefix``."""

    # -- deploy: one apply at a time, and a copy of a target to rehearse on ---------------

    @abstractmethod
    def try_lock(self, connection: Any, name: str, wait: float) -> bool:
        """Take the server-wide advisory lock ``name`` for this session, waiting up to
        ``wait`` seconds; whether it was taken. It is released with the session, so a
        deploy that dies cannot leave it held."""

    @abstractmethod
    def release_lock(self, connection: Any, name: str) -> None:
        """Release the advisory lock ``name`` held by this session."""

    def lock_holder(self, connection: Any, name: str) -> str | None:
        """Who holds the advisory lock ``name`` (for the message of a waiting deploy)."""
        return None

    def schema_ddl(self, connection: Any, schema: str) -> list[str]:
        """Statements recreating ``schema`` and its tables, empty, as the server has them.

        A rehearsal loads them into a throwaway server; backends without it name the way out.
        """
        from harness.errors import ConfigurationError

        raise ConfigurationError(
            f"rehearsing a deploy on a {self.name} target is not implemented",
            hint="apply without rehearsal: --no-rehearse",
        )

    def load_ddl(self, connection: Any, statements: list[str]) -> None:
        """Run :meth:`schema_ddl` output on a rehearsal server, in any order of tables."""
        for statement in statements:
            self.query(connection, statement)

    def copy_server_settings(self, source: Any, destination: Any) -> list[str]:
        """Give ``destination`` the server settings of ``source`` that change what a
        ``CREATE`` does (default character set, engine, ...); the names copied."""
        return []

    # -- named schemas (a deploy target) -----------------------------------------------

    @abstractmethod
    def read_schemas(self, connection: Any, schemas: list[str]) -> list[Table]:
        """Every DataJoint table in ``schemas``, reported under their real names."""

    @abstractmethod
    def quote_identifier(self, name: str) -> str:
        """``name`` quoted as a schema or table name in this server's SQL."""

    def create_schema_sql(self, schema: str) -> str:
        """The statement DataJoint's activation runs to create ``schema``."""
        return f"CREATE SCHEMA {self.quote_identifier(schema)}"

    def server_version(self, connection: Any) -> str:
        """The version string the server reports about itself."""
        cursor = connection.cursor()
        try:
            cursor.execute(self.version_query())
            row = cursor.fetchone()
        finally:
            cursor.close()
        return str(row[0])

    @staticmethod
    def query(connection: Any, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows (empty for statements without rows)."""
        cursor = connection.cursor()
        try:
            cursor.execute(sql, args)
            return list(cursor.fetchall()) if cursor.description else []
        finally:
            cursor.close()

    def probe(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        *,
        timeout: float = 5.0,
        tls: TlsSettings | None = None,
    ) -> str:
        """Connect, read the version, disconnect: the readiness test."""
        connection = self.connect(host, port, user, password, timeout=timeout, tls=tls)
        try:
            return self.server_version(connection)
        finally:
            connection.close()
