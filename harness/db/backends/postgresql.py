"""PostgreSQL through psycopg2, the driver DataJoint 2.x uses (extra ``postgres``)."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from harness.db.catalog import Table
    from harness.db.tls import TlsSettings

from harness.db.backends.base import REGISTRY_SCHEMA, Backend
from harness.db.backends.postgresql_ddl import load_order, schema_statements
from harness.errors import ConfigurationError

#: Settings of the deploying user's sessions that change what DataJoint's statements make:
#: where unqualified names go, how literals in defaults and comments are read, the
#: storage a new table gets. (``default_tablespace`` is left out: the copy has none.)
CREATE_SETTINGS = (
    "search_path",
    "standard_conforming_strings",
    "DateStyle",
    "IntervalStyle",
    "TimeZone",
    "default_table_access_method",
    "default_toast_compression",
)
#: Seconds the rehearsal server may take to reload changed settings.
_RELOAD_TIMEOUT = 10.0
#: One schema of a ``search_path`` value: quoted, or a plain name.
_LIST_ITEM = re.compile(r'\s*("(?:[^"]|"")*"|[A-Za-z_][A-Za-z0-9_$]*)\s*(?:,|$)')

#: How often a waiting advisory lock is tried again (PostgreSQL has no timed variant).
_LOCK_POLL = 0.2
#: The advisory lock that serializes changes to the database's access list (see
#: :meth:`PostgreSQLBackend._database_acl_changes`), and how long one may wait for it.
_ACL_LOCK = "element-harness.database-acl"
_ACL_LOCK_TIMEOUT = "30s"


def _lock_key(name: str) -> int:
    """The signed 64-bit key of advisory lock ``name``."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def _psycopg2() -> Any:
    try:
        import psycopg2
    except ImportError:
        raise ConfigurationError(
            "the postgresql backend needs the psycopg2 driver, which is not installed",
            hint="pip install 'element-harness[postgres]'",
        ) from None
    return psycopg2


class PostgreSQLBackend(Backend):
    """PostgreSQL 15+ (DataJoint 2.x only)."""

    name: ClassVar[str] = "postgresql"
    port: ClassVar[int] = 5432
    default_image: ClassVar[str] = "postgres:15"
    data_dir: ClassVar[str] = "/var/lib/postgresql/data"
    #: Longest schema (database) name the server accepts.
    max_schema_name: ClassVar[int] = 63
    admin_user: ClassVar[str] = "postgres"
    url_schemes: ClassVar[tuple[str, ...]] = ("postgresql", "postgres", "postgresql+psycopg2")
    #: The official image is named ``postgres``; ``pg`` is the usual short form.
    aliases: ClassVar[tuple[str, ...]] = ("postgres", "pg")
    title: ClassVar[str] = "PostgreSQL"
    #: PostgreSQL support arrived in DataJoint 2.0.
    min_datajoint_major: ClassVar[int] = 2
    datajoint_backend: ClassVar[str] = "postgresql"
    manifest_family: ClassVar[str] = ".postgresql"

    def container_env(self, admin_password: str) -> dict[str, str]:
        return {"POSTGRES_PASSWORD": admin_password, "POSTGRES_USER": self.admin_user}

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
        psycopg2 = _psycopg2()
        encryption = (
            {"sslmode": "verify-full", "sslrootcert": tls.ca or "system"} if tls is not None else {}
        )
        connection = psycopg2.connect(
            host=host,
            port=port,
            user=user,
            password=password,
            dbname=database or "postgres",
            connect_timeout=max(1, round(timeout)),
            **encryption,
        )
        connection.autocommit = True
        return connection

    def datajoint_tls(
        self, tls: TlsSettings
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
        # DataJoint 2's PostgreSQL adapter maps any use_tls dict to sslmode=require
        # (encrypted, not verified) but honours an explicit sslmode; libpq reads the
        # root certificate from the environment (``system``: libpq 16+).
        return {}, {"sslmode": "verify-full"}, {"PGSSLROOTCERT": tls.ca or "system"}

    def driver_errors(self) -> tuple[type[BaseException], ...]:
        psycopg2 = _psycopg2()
        return (psycopg2.Error, OSError)

    def version_query(self) -> str:
        return "SHOW server_version"

    def create_namespace_user(
        self, connection: Any, user: str, password: str, prefix: str, schemas: list[str]
    ) -> None:
        # PostgreSQL cannot grant "CREATE SCHEMA named like x_%": the role may create
        # schemas in the database, the plan's schemas are created up front and owned
        # by it, and confinement is verified afterwards from the catalog.
        self.query(connection, f'CREATE ROLE "{user}" LOGIN PASSWORD %s', (password,))
        with self._database_acl_changes(connection):
            self.query(connection, f'GRANT CREATE ON DATABASE postgres TO "{user}"')
        for schema in schemas:
            self.query(connection, f'CREATE SCHEMA "{schema}" AUTHORIZATION "{user}"')

    def read_catalog(self, connection: Any, prefix: str) -> list[Table]:
        from harness.db.catalog import stem_of

        return self._read_tables(
            connection,
            "starts_with({column}, %s)",
            (prefix + "_",),
            lambda schema: stem_of(schema, prefix),
        )

    def read_schemas(self, connection: Any, schemas: list[str]) -> list[Table]:
        return self._read_tables(
            connection, "{column} = ANY(%s)", (sorted(set(schemas)),), lambda name: name
        )

    def _read_tables(
        self, connection: Any, condition: str, params: Any, name_of: Callable[[str], str]
    ) -> list[Table]:
        """Tables of the schemas matching ``condition``, five catalog queries in all.

        ``condition`` is SQL with ``{column}`` where the schema column goes (each query
        names it differently); ``name_of`` turns a schema name into the name reported
        (a stem inside a namespace, the real name on a deploy target).
        """
        from harness.db.catalog import (
            Attribute,
            attach_unique_indexes,
            normalize_default,
            normalize_postgres_type,
            split_comment,
            strip_cast,
            tables_from_rows,
            with_foreign_keys,
        )

        def where(column: str) -> str:
            return condition.format(column=column)

        tables = tables_from_rows(
            self.query(
                connection,
                "SELECT table_schema, table_name, '' FROM information_schema.tables "
                f"WHERE {where('table_schema')} AND table_type = 'BASE TABLE' ORDER BY 1, 2",
                params,
            ),
            name_of,
        )
        for schema, name, column, data_type, nullable, default, comment in self.query(
            connection,
            "SELECT table_schema, table_name, column_name, "
            "format_type(a.atttypid, a.atttypmod), is_nullable, column_default, "
            "col_description(a.attrelid, a.attnum) "
            "FROM information_schema.columns c JOIN pg_attribute a "
            "ON a.attrelid = format('%%I.%%I', c.table_schema, c.table_name)::regclass "
            "AND a.attname = c.column_name "
            f"WHERE {where('table_schema')} ORDER BY 1, 2, ordinal_position",
            params,
        ):
            table = tables.get((schema, name))
            if table is not None:
                is_nullable = nullable == "YES"
                text, core_type = split_comment(comment)
                table.attributes.append(
                    Attribute(
                        column,
                        normalize_postgres_type(data_type),
                        is_nullable,
                        normalize_default(strip_cast(default), is_nullable),
                        text,
                        core_type,
                    )
                )
        for schema, name, column in self.query(
            connection,
            "SELECT tc.table_schema, tc.table_name, kcu.column_name "
            "FROM information_schema.table_constraints tc "
            "JOIN information_schema.key_column_usage kcu "
            "USING (constraint_schema, constraint_name) WHERE tc.constraint_type = 'PRIMARY KEY' "
            f"AND {where('tc.table_schema')} ORDER BY 1, 2, kcu.ordinal_position",
            params,
        ):
            table = tables.get((schema, name))
            if table is not None:
                table.primary_key.append(column)
        attach_unique_indexes(
            tables,
            self.query(
                connection,
                "SELECT n.nspname, t.relname, i.relname, a.attname FROM pg_index x "
                "JOIN pg_class t ON t.oid = x.indrelid "
                "JOIN pg_namespace n ON n.oid = t.relnamespace "
                "JOIN pg_class i ON i.oid = x.indexrelid "
                "JOIN LATERAL unnest(x.indkey) WITH ORDINALITY AS k(attnum, position) ON true "
                "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum "
                f"WHERE x.indisunique AND NOT x.indisprimary AND {where('n.nspname')} "
                "ORDER BY 1, 2, 3, k.position",
                params,
            ),
        )
        return with_foreign_keys(
            tables,
            self.query(
                connection,
                "SELECT kcu.table_schema, kcu.table_name, kcu.constraint_name, kcu.column_name, "
                "pk.table_schema, pk.table_name, pk.column_name "
                "FROM information_schema.referential_constraints rc "
                "JOIN information_schema.key_column_usage kcu "
                "ON kcu.constraint_schema = rc.constraint_schema "
                "AND kcu.constraint_name = rc.constraint_name "
                "JOIN information_schema.key_column_usage pk "
                "ON pk.constraint_schema = rc.unique_constraint_schema "
                "AND pk.constraint_name = rc.unique_constraint_name "
                "AND pk.ordinal_position = kcu.position_in_unique_constraint "
                f"WHERE {where('kcu.table_schema')} ORDER BY 1, 2, 3, kcu.ordinal_position",
                params,
            ),
            name_of,
        )

    def quote_identifier(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def namespace_schemas(self, connection: Any, prefix: str) -> list[str]:
        rows = self.query(
            connection,
            "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s) ORDER BY nspname",
            (prefix + "_",),
        )
        return [row[0] for row in rows]

    def all_schemas(self, connection: Any, *, include_registry: bool = False) -> set[str]:
        rows = self.query(
            connection,
            "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE "
            "'pg\\_%%' AND nspname <> 'information_schema'",
        )
        found = {row[0] for row in rows}
        return found if include_registry else found - {REGISTRY_SCHEMA}

    def user_exists(self, connection: Any, user: str) -> bool:
        return bool(self.query(connection, "SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)))

    def end_sessions(self, connection: Any, user: str) -> None:
        self.query(
            connection,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
            (user,),
        )

    def drop_namespace(self, connection: Any, user: str, prefix: str) -> None:
        self.end_sessions(connection, user)
        for schema in self.namespace_schemas(connection, prefix):
            self.query(connection, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        if self.user_exists(connection, user):
            # Whatever else the role created (a schema outside its prefix) goes with it.
            with self._database_acl_changes(connection):
                self.query(connection, f'DROP OWNED BY "{user}" CASCADE')
                self.query(connection, f'DROP ROLE IF EXISTS "{user}"')

    @contextmanager
    def _database_acl_changes(self, connection: Any) -> Iterator[None]:
        """One session at a time changes the database's access list, in a transaction.

        A GRANT on the database, and the REVOKE within DROP OWNED, rewrite the same
        catalog row; two sessions doing so at once (two checks starting or ending
        together) make one fail with "tuple concurrently updated".
        """
        self.query(connection, "BEGIN")
        try:
            self.query(connection, f"SET LOCAL lock_timeout = '{_ACL_LOCK_TIMEOUT}'")
            self.query(connection, "SELECT pg_advisory_xact_lock(%s)", (_lock_key(_ACL_LOCK),))
            yield
        except BaseException:
            with suppress(Exception):
                self.query(connection, "ROLLBACK")
            raise
        self.query(connection, "COMMIT")

    # -- deploy ---------------------------------------------------------------------------

    def try_lock(self, connection: Any, name: str, wait: float) -> bool:
        deadline = time.monotonic() + max(wait, 0)
        while True:
            if self.query(connection, "SELECT pg_try_advisory_lock(%s)", (_lock_key(name),))[0][0]:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(_LOCK_POLL)

    def release_lock(self, connection: Any, name: str) -> None:
        self.query(connection, "SELECT pg_advisory_unlock(%s)", (_lock_key(name),))

    def lock_holder(self, connection: Any, name: str) -> str | None:
        key = _lock_key(name)
        rows = self.query(
            connection,
            "SELECT l.pid, a.usename, a.client_addr FROM pg_locks l "
            "LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted "
            "AND l.classid = %s AND l.objid = %s AND l.objsubid = 1",
            ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
        )
        if not rows:
            return None
        pid, user, address = rows[0]
        return f"backend {pid} ({user}@{address or 'local'})" if user else f"backend {pid}"

    def schema_ddl(self, connection: Any, schema: str) -> list[str]:
        # Read-only, and with only pg_catalog on the path every printed name is qualified.
        self.query(connection, "BEGIN READ ONLY")
        try:
            self.query(connection, "SET LOCAL search_path = pg_catalog")
            return schema_statements(lambda sql, args: self.query(connection, sql, args), schema)
        finally:
            with suppress(*self.driver_errors()):
                self.query(connection, "ROLLBACK")

    def load_ddl(self, connection: Any, statements: list[str]) -> None:
        # No switch turns foreign keys off: types first, foreign keys after every table.
        super().load_ddl(connection, load_order(statements))

    def _settings(self, connection: Any) -> list[str]:
        marks = ", ".join(["current_setting(%s)"] * len(CREATE_SETTINGS))
        return list(self.query(connection, f"SELECT {marks}", CREATE_SETTINGS)[0])

    def copy_server_settings(self, source: Any, destination: Any) -> list[str]:
        # The source's session values are what the deploying user's sessions get (role,
        # database and server settings together); the copy gets them server-wide, so
        # DataJoint's own new sessions there do too.
        wanted = self._settings(source)
        for name, value in zip(CREATE_SETTINGS, wanted, strict=True):
            if name == "search_path":
                # A list of names, not one string; one that is neither is left out, and
                # the comparison below names it.
                items = ", ".join(_LIST_ITEM.findall(value)) or "''"
                self.query(destination, f"ALTER SYSTEM SET search_path = {items}")
            else:
                self.query(destination, f'ALTER SYSTEM SET "{name}" = %s', (value,))
        self.query(destination, "SELECT pg_reload_conf()")
        deadline = time.monotonic() + _RELOAD_TIMEOUT
        while (found := self._settings(destination)) != wanted:
            if time.monotonic() >= deadline:
                differing = [
                    f"{name} = {have!r}, not {want!r}"
                    for name, have, want in zip(CREATE_SETTINGS, found, wanted, strict=True)
                    if have != want
                ]
                raise ConfigurationError(
                    "the rehearsal server did not take the target's settings: "
                    + "; ".join(differing),
                    hint="give an image of the target's server version: --rehearse-image",
                )
            time.sleep(0.1)
        return list(CREATE_SETTINGS)
