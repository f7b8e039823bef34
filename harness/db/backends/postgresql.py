"""PostgreSQL through psycopg2, the driver DataJoint 2.x uses (extra ``postgres``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from harness.db.catalog import Table

from harness.db.backends.base import REGISTRY_SCHEMA, Backend
from harness.errors import ConfigurationError


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
    ) -> Any:
        psycopg2 = _psycopg2()
        connection = psycopg2.connect(
            host=host,
            port=port,
            user=user,
            password=password,
            dbname=database or "postgres",
            connect_timeout=max(1, round(timeout)),
        )
        connection.autocommit = True
        return connection

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
        self.query(connection, f'GRANT CREATE ON DATABASE postgres TO "{user}"')
        for schema in schemas:
            self.query(connection, f'CREATE SCHEMA "{schema}" AUTHORIZATION "{user}"')

    def read_catalog(self, connection: Any, prefix: str) -> list[Table]:
        from harness.db.catalog import (
            Attribute,
            normalize_default,
            normalize_postgres_type,
            split_comment,
            stem_of,
            strip_cast,
            tables_from_rows,
            with_foreign_keys,
        )

        params = (prefix + "_",)

        def name_of(schema: str) -> str:
            return stem_of(schema, prefix)

        tables = tables_from_rows(
            self.query(
                connection,
                "SELECT table_schema, table_name, '' FROM information_schema.tables "
                "WHERE starts_with(table_schema, %s) AND table_type = 'BASE TABLE' ORDER BY 1, 2",
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
            "WHERE starts_with(table_schema, %s) ORDER BY 1, 2, ordinal_position",
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
            "AND starts_with(tc.table_schema, %s) ORDER BY 1, 2, kcu.ordinal_position",
            params,
        ):
            table = tables.get((schema, name))
            if table is not None:
                table.primary_key.append(column)
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
                "WHERE starts_with(kcu.table_schema, %s) ORDER BY 1, 2, 3, kcu.ordinal_position",
                params,
            ),
            name_of,
        )

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
            self.query(connection, f'DROP OWNED BY "{user}" CASCADE')
            self.query(connection, f'DROP ROLE IF EXISTS "{user}"')
