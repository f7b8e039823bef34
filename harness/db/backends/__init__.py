"""Backend registry: one module per kind of server, all of the same shape.

Adding a backend is adding a module with a :class:`~harness.db.backends.base.Backend`
subclass and one line here, not new branches throughout the harness.
"""

from __future__ import annotations

from harness.db.backends.base import Backend
from harness.db.backends.mariadb import MariaDBBackend
from harness.db.backends.mysql import MySQLBackend
from harness.db.backends.postgresql import PostgreSQLBackend
from harness.errors import ConfigurationError
from harness.settings import BACKEND_ALIASES

BACKENDS: dict[str, Backend] = {
    backend.name: backend for backend in (MySQLBackend(), MariaDBBackend(), PostgreSQLBackend())
}


def get_backend(name: str) -> Backend:
    """The backend called ``name`` (aliases such as ``postgres`` accepted)."""
    canonical = BACKEND_ALIASES.get(name.strip().lower(), name)
    try:
        return BACKENDS[canonical]
    except KeyError:
        raise ConfigurationError(
            f"unknown backend {name!r}", hint=f"known backends: {', '.join(sorted(BACKENDS))}"
        ) from None


__all__ = ["BACKENDS", "Backend", "get_backend"]
