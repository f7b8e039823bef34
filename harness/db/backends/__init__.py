"""Backend registry: one module per kind of server, all of the same shape.

Adding a backend is adding a module with a :class:`~harness.db.backends.base.Backend`
subclass and one line here, not new branches throughout the harness. Every place
that takes a backend's name (``--db``, ``HARNESS_DB``, matrices, image recipes)
resolves it with :func:`canonical_name`, so the accepted spellings cannot disagree.
"""

from __future__ import annotations

from harness.db.backends.base import Backend
from harness.db.backends.mariadb import MariaDBBackend
from harness.db.backends.mysql import MySQLBackend
from harness.db.backends.postgresql import PostgreSQLBackend
from harness.errors import ConfigurationError

#: The backends by canonical name, in the order tables and reports list them.
BACKENDS: dict[str, Backend] = {
    backend.name: backend for backend in (MySQLBackend(), MariaDBBackend(), PostgreSQLBackend())
}

_SPELLINGS: dict[str, str] = {
    spelling: backend.name
    for backend in BACKENDS.values()
    for spelling in (backend.name, *backend.aliases)
}


def canonical_name(text: str) -> str | None:
    """The canonical name of the backend ``text`` spells (``PG`` -> ``postgresql``), or None."""
    return _SPELLINGS.get(text.strip().lower())


def get_backend(name: str) -> Backend:
    """The backend called ``name`` (aliases such as ``postgres`` accepted)."""
    canonical = canonical_name(name)
    if canonical is None:
        raise ConfigurationError(
            f"unknown backend {name!r}", hint=f"known backends: {', '.join(sorted(BACKENDS))}"
        )
    return BACKENDS[canonical]


__all__ = ["BACKENDS", "Backend", "canonical_name", "get_backend"]
