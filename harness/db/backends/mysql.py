"""Oracle MySQL, driven through PyMySQL (DataJoint's own driver)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from harness.db.catalog import Table
    from harness.db.tls import TlsSettings

from harness.db.backends.base import REGISTRY_SCHEMA, Backend, is_loopback


class MySQLBackend(Backend):
    """MySQL 8.0+ (and 9.x, best effort in DataJoint 2.x)."""

    name: ClassVar[str] = "mysql"
    port: ClassVar[int] = 3306
    default_image: ClassVar[str] = "mysql:8.0"
    data_dir: ClassVar[str] = "/var/lib/mysql"
    #: Longest schema (database) name the server accepts.
    max_schema_name: ClassVar[int] = 64
    admin_user: ClassVar[str] = "root"
    url_schemes: ClassVar[tuple[str, ...]] = ("mysql", "mysql+pymysql")
    title: ClassVar[str] = "MySQL"
    datajoint_backend: ClassVar[str] = "mysql"
    plain_on_loopback: ClassVar[bool] = True

    def identify(self, version: str) -> str:
        # A MariaDB server answers the MySQL protocol; reports and DataJoint set-up
        # must know which it is.
        return "mariadb" if "mariadb" in version.lower() else self.name

    def container_env(self, admin_password: str) -> dict[str, str]:
        return {"MYSQL_ROOT_PASSWORD": admin_password}

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
        import pymysql

        if tls is not None:
            encryption: dict[str, Any] = {"ssl": tls.context()}
        else:
            # PyMySQL 1.2 negotiates TLS whenever the server offers it (about 30 ms of
            # CPU per connection for the default context); a loopback server is only
            # reachable from this machine, so encryption buys nothing there.
            encryption = {"ssl_disabled": True if is_loopback(host) else None}
        return pymysql.connect(
            host=host,
            port=port,
            user=user,
            password=password,
            database=database,
            connect_timeout=timeout,
            read_timeout=max(timeout, 30.0),
            write_timeout=max(timeout, 30.0),
            charset="utf8mb4",
            autocommit=True,
            **encryption,
        )

    def datajoint_tls(
        self, tls: TlsSettings
    ) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
        # Both DataJoint lines hand a use_tls dict to PyMySQL as its ``ssl`` options.
        return tls.pymysql_options(), {}, {}

    def driver_errors(self) -> tuple[type[BaseException], ...]:
        import pymysql

        return (pymysql.err.MySQLError, OSError)

    def version_query(self) -> str:
        return "SELECT VERSION()"

    @staticmethod
    def like_prefix(prefix: str) -> str:
        """A LIKE / GRANT pattern for ``<prefix>_*`` with the underscores escaped."""
        return prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "\\_%"

    def create_namespace_user(
        self, connection: Any, user: str, password: str, prefix: str, schemas: list[str]
    ) -> None:
        # Grants on the escaped pattern cover exactly the namespace's schemas, present
        # and future; anything else is refused by the server, which is what makes a
        # namespace violation visible instead of silent.
        self.query(connection, "CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
        pattern = self.like_prefix(prefix).replace("%", "%%")  # literal % for the driver
        self.query(connection, f"GRANT ALL PRIVILEGES ON `{pattern}`.* TO %s@'%%'", (user,))

    def read_catalog(self, connection: Any, prefix: str) -> list[Table]:
        from harness.db.catalog import stem_of

        return self._read_tables(
            connection, "LIKE %s", (self.like_prefix(prefix),), lambda s: stem_of(s, prefix)
        )

    def read_schemas(self, connection: Any, schemas: list[str]) -> list[Table]:
        names = sorted(set(schemas))
        if not names:
            return []
        marks = ", ".join(["%s"] * len(names))
        return self._read_tables(connection, f"IN ({marks})", names, lambda name: name)

    def _read_tables(
        self, connection: Any, condition: str, params: Any, name_of: Callable[[str], str]
    ) -> list[Table]:
        """Tables of the schemas matching ``table_schema <condition>``.

        Four information_schema queries whatever the number of tables. ``name_of``
        turns a schema name into the name reported (a stem inside a namespace, the real
        name on a deploy target).
        """
        from harness.db.catalog import (
            Attribute,
            attach_unique_indexes,
            normalize_default,
            normalize_type,
            own_charset,
            split_comment,
            tables_from_rows,
            with_foreign_keys,
        )

        tables = tables_from_rows(
            self.query(
                connection,
                "SELECT table_schema, table_name, table_comment FROM information_schema.tables "
                f"WHERE table_schema {condition} ORDER BY table_schema, table_name",
                params,
            ),
            name_of,
        )
        for row in self.query(
            connection,
            "SELECT c.table_schema, c.table_name, c.column_name, c.column_type, c.is_nullable, "
            "c.column_default, c.column_comment, c.column_key, c.character_set_name, "
            "c.collation_name, s.default_collation_name, s.default_character_set_name, "
            "cc.is_default FROM information_schema.columns c JOIN information_schema.schemata s "
            "ON s.schema_name = c.table_schema "
            "LEFT JOIN information_schema.collations cc ON cc.collation_name = c.collation_name "
            f"WHERE c.table_schema {condition} "
            "ORDER BY c.table_schema, c.table_name, c.ordinal_position",
            params,
        ):
            schema, name, column, column_type, nullable, default, comment, key = row[:8]
            table = tables.get((schema, name))
            if table is None:
                continue
            is_nullable = nullable == "YES"
            text, core_type = split_comment(comment)
            charset, collation = own_charset(*row[8:])
            table.attributes.append(
                Attribute(
                    column,
                    normalize_type(column_type),
                    is_nullable,
                    normalize_default(default, is_nullable),
                    text,
                    core_type,
                    charset,
                    collation,
                )
            )
            if key == "PRI":
                table.primary_key.append(column)
        attach_unique_indexes(
            tables,
            self.query(
                connection,
                "SELECT table_schema, table_name, index_name, column_name "
                "FROM information_schema.statistics "
                f"WHERE table_schema {condition} AND non_unique = 0 AND index_name <> 'PRIMARY' "
                "ORDER BY table_schema, table_name, index_name, seq_in_index",
                params,
            ),
        )
        return with_foreign_keys(
            tables,
            self.query(
                connection,
                "SELECT table_schema, table_name, constraint_name, column_name, "
                "referenced_table_schema, referenced_table_name, referenced_column_name "
                f"FROM information_schema.key_column_usage WHERE table_schema {condition} "
                "AND referenced_table_name IS NOT NULL "
                "ORDER BY table_schema, table_name, constraint_name, ordinal_position",
                params,
            ),
            name_of,
        )

    def quote_identifier(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def create_schema_sql(self, schema: str) -> str:
        return f"CREATE DATABASE {self.quote_identifier(schema)}"

    def namespace_schemas(self, connection: Any, prefix: str) -> list[str]:
        rows = self.query(
            connection,
            "SELECT schema_name FROM information_schema.schemata "
            "WHERE schema_name LIKE %s ORDER BY schema_name",
            (self.like_prefix(prefix),),
        )
        return [row[0] for row in rows]

    def all_schemas(self, connection: Any, *, include_registry: bool = False) -> set[str]:
        system = {"mysql", "information_schema", "performance_schema", "sys"}
        rows = self.query(connection, "SELECT schema_name FROM information_schema.schemata")
        found = {row[0] for row in rows} - system
        return found if include_registry else found - {REGISTRY_SCHEMA}

    def user_exists(self, connection: Any, user: str) -> bool:
        return bool(self.query(connection, "SELECT 1 FROM mysql.user WHERE user = %s", (user,)))

    def end_sessions(self, connection: Any, user: str) -> None:
        for (session_id,) in self.query(
            connection, "SELECT id FROM information_schema.processlist WHERE user = %s", (user,)
        ):
            try:
                self.query(connection, f"KILL {int(session_id)}")
            except self.driver_errors():
                pass  # the session ended on its own meanwhile

    def drop_namespace(self, connection: Any, user: str, prefix: str) -> None:
        self.end_sessions(connection, user)
        self.query(connection, "SET SESSION foreign_key_checks = 0")
        try:
            for schema in self.namespace_schemas(connection, prefix):
                self.query(connection, f"DROP DATABASE IF EXISTS `{schema}`")
        finally:
            self.query(connection, "SET SESSION foreign_key_checks = 1")
        self.query(connection, "DROP USER IF EXISTS %s@'%%'", (user,))

    # -- deploy ---------------------------------------------------------------------------

    #: Server variables that decide what a ``CREATE DATABASE`` / ``CREATE TABLE`` makes.
    CREATE_SETTINGS: ClassVar[tuple[str, ...]] = (
        "character_set_server",
        "collation_server",
        "default_storage_engine",
        "sql_mode",
    )

    def try_lock(self, connection: Any, name: str, wait: float) -> bool:
        # GET_LOCK waits server-side in whole seconds; 1 taken, 0 timed out.
        rows = self.query(connection, "SELECT GET_LOCK(%s, %s)", (name, math.ceil(max(wait, 0))))
        return rows[0][0] == 1

    def release_lock(self, connection: Any, name: str) -> None:
        self.query(connection, "SELECT RELEASE_LOCK(%s)", (name,))

    def lock_holder(self, connection: Any, name: str) -> str | None:
        holder = self.query(connection, "SELECT IS_USED_LOCK(%s)", (name,))[0][0]
        if holder is None:
            return None
        rows = self.query(
            connection,
            "SELECT user, host FROM information_schema.processlist WHERE id = %s",
            (int(holder),),
        )
        # Without the PROCESS privilege other users' sessions are invisible: the id remains.
        return f"session {holder} ({rows[0][0]}@{rows[0][1]})" if rows else f"session {holder}"

    @staticmethod
    def quote(name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def schema_ddl(self, connection: Any, schema: str) -> list[str]:
        quoted = self.quote(schema)
        create = self.query(connection, f"SHOW CREATE DATABASE {quoted}")[0][1]
        statements = [create, f"USE {quoted}"]
        tables = self.query(
            connection,
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY table_name",
            (schema,),
        )
        for (table,) in tables:
            statements.append(
                self.query(connection, f"SHOW CREATE TABLE {quoted}.{self.quote(table)}")[0][1]
            )
        return statements

    def load_ddl(self, connection: Any, statements: list[str]) -> None:
        # Tables reference each other across schemas: load them in any order.
        self.query(connection, "SET SESSION foreign_key_checks = 0")
        try:
            super().load_ddl(connection, statements)
        finally:
            self.query(connection, "SET SESSION foreign_key_checks = 1")

    def copy_server_settings(self, source: Any, destination: Any) -> list[str]:
        names = ", ".join(f"@@GLOBAL.{name}" for name in self.CREATE_SETTINGS)
        values = self.query(source, f"SELECT {names}")[0]
        for name, value in zip(self.CREATE_SETTINGS, values, strict=True):
            self.query(destination, f"SET GLOBAL {name} = %s", (value,))
        return list(self.CREATE_SETTINGS)
