"""MariaDB: the MySQL protocol and driver, its own images and variables."""

from __future__ import annotations

from typing import ClassVar

from harness.db.backends.mysql import MySQLBackend


class MariaDBBackend(MySQLBackend):
    """MariaDB 10.11+ (best effort in DataJoint 2.x; needs TLS off on DataJoint 0.14)."""

    name: ClassVar[str] = "mariadb"
    default_image: ClassVar[str] = "mariadb:10.11"
    url_schemes: ClassVar[tuple[str, ...]] = ("mariadb",)
    title: ClassVar[str] = "MariaDB"

    def container_env(self, admin_password: str) -> dict[str, str]:
        # The official image reads MARIADB_*; older tags and our recipes also read MYSQL_*.
        return {"MARIADB_ROOT_PASSWORD": admin_password, "MYSQL_ROOT_PASSWORD": admin_password}
