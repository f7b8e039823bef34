"""Oracle MySQL, driven through PyMySQL (DataJoint's own driver)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from harness.db.catalog import Table

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
    ) -> Any:
        import pymysql

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
            # PyMySQL 1.2 negotiates TLS whenever the server offers it (about 30 ms of
            # CPU per connection for the default context); a loopback server is only
            # reachable from this machine, so encryption buys nothing there.
            ssl_disabled=True if is_loopback(host) else None,
        )

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

        Three information_schema queries whatever the number of tables. ``name_of``
        turns a schema name into the name reported (a stem inside a namespace, the real
        name on a deploy target).
        """
        from harness.db.catalog import (
            Attribute,
            normalize_default,
            normalize_type,
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
        for schema, name, column, column_type, nullable, default, comment, key in self.query(
            connection,
            "SELECT table_schema, table_name, column_name, column_type, is_nullable, "
            "column_default, column_comment, column_key FROM information_schema.columns "
            f"WHERE table_schema {condition} ORDER BY table_schema, table_name, ordinal_position",
            params,
        ):
            table = tables.get((schema, name))
            if table is None:
                continue
            is_nullable = nullable == "YES"
            text, core_type = split_comment(comment)
            table.attributes.append(
                Attribute(
                    column,
                    normalize_type(column_type),
                    is_nullable,
                    normalize_default(default, is_nullable),
                    text,
                    core_type,
                )
            )
            if key == "PRI":
                table.primary_key.append(column)
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
