"""Oracle MySQL, driven through PyMySQL (DataJoint's own driver)."""

from __future__ import annotations

from typing import Any, ClassVar

from harness.db.backends.base import Backend


class MySQLBackend(Backend):
    """MySQL 8.0+ (and 9.x, best effort in DataJoint 2.x)."""

    name: ClassVar[str] = "mysql"
    port: ClassVar[int] = 3306
    default_image: ClassVar[str] = "mysql:8.0"
    data_dir: ClassVar[str] = "/var/lib/mysql"
    admin_user: ClassVar[str] = "root"
    url_schemes: ClassVar[tuple[str, ...]] = ("mysql", "mysql+pymysql")

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
        )

    def driver_errors(self) -> tuple[type[BaseException], ...]:
        import pymysql

        return (pymysql.err.MySQLError, OSError)

    def version_query(self) -> str:
        return "SELECT VERSION()"
