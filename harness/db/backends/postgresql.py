"""PostgreSQL through psycopg2, the driver DataJoint 2.x uses (extra ``postgres``)."""

from __future__ import annotations

from typing import Any, ClassVar

from harness.db.backends.base import Backend
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
    admin_user: ClassVar[str] = "postgres"
    url_schemes: ClassVar[tuple[str, ...]] = ("postgresql", "postgres", "postgresql+psycopg2")

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
