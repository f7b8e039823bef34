"""An isolated schema namespace and the least-privilege user confined to it.

Every check gets a short unique prefix (run, xdist worker, sequence number);
every schema it creates is ``<prefix>_<stem>``, and the Element runs as a
database user that may touch only those schemas. Two checks, two workers or
two runs on one server therefore never see each other's schemas, and an
Element that reaches outside fails loudly instead of littering the server.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.db import registry
from harness.db.backends import get_backend
from harness.db.backends.base import Backend
from harness.db.server import ServerInfo
from harness.redact import new_password
from harness.runinfo import RunIdentity

#: MySQL account names are limited to 32 characters; schema names to 64.
MAX_PREFIX = 20
_sequence = itertools.count(1)


def worker_tag() -> str:
    """``w3`` for pytest-xdist worker gw3, ``m`` otherwise."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return "w" + worker[2:] if worker.startswith("gw") else "m"


def new_prefix(run_id: str) -> str:
    """A prefix unique to this run, worker and check, e.g. ``eh_3fa9c1_w0n07``."""
    prefix = f"eh_{run_id[:6]}_{worker_tag()}n{next(_sequence):02d}"
    assert len(prefix) <= MAX_PREFIX, prefix
    return prefix


@dataclass
class Namespace:
    """A prefix, its user and the admin connection that manages both."""

    backend: Backend
    admin: Any = field(repr=False)
    prefix: str
    user: str
    password: str = field(repr=False)

    @classmethod
    def create(
        cls,
        backend: Backend,
        admin: Any,
        prefix: str,
        expected_schemas: list[str] | None = None,
        *,
        server_key: tuple[str, int] | None = None,
    ) -> Namespace:
        """Register the prefix, create its user and grants; sweep dead owners' first."""
        if server_key is not None:
            registry.sweep_dead_namespaces(backend, admin, server_key)
        password = new_password()
        registry.register(backend, admin, prefix)
        try:
            backend.create_namespace_user(admin, prefix, password, prefix, expected_schemas or [])
        except BaseException:
            backend.drop_namespace(admin, prefix, prefix)  # half-made: leave nothing
            registry.unregister(backend, admin, prefix)
            raise
        return cls(backend, admin, prefix, prefix, password)

    def schema(self, stem: str) -> str:
        return f"{self.prefix}_{stem}"

    def schemas(self) -> list[str]:
        return self.backend.namespace_schemas(self.admin, self.prefix)

    def drop(self) -> list[str]:
        """Drop the namespace; return what is left afterwards (empty when clean)."""
        self.backend.drop_namespace(self.admin, self.user, self.prefix)
        left = self.schemas()
        if self.backend.user_exists(self.admin, self.user):
            left.append(f"user {self.user}")
        if not left:
            registry.unregister(self.backend, self.admin, self.prefix)
        return left


@dataclass
class NamespaceSession:
    """A namespace with an open connection as its own user (the ``harness_namespace`` fixture)."""

    namespace: Namespace
    connection: Any = field(repr=False)

    @property
    def prefix(self) -> str:
        return self.namespace.prefix

    @property
    def user(self) -> str:
        return self.namespace.user

    def schema(self, stem: str) -> str:
        """The full name of schema ``stem`` inside this namespace."""
        return self.namespace.schema(stem)

    @classmethod
    @contextlib.contextmanager
    def open(cls, server: ServerInfo, run: RunIdentity) -> Iterator[NamespaceSession]:
        """Create a namespace on ``server``, connect as its user; drop everything after."""
        backend = get_backend(server.backend)
        admin = backend.connect(
            *server.address(), server.admin_user, server.admin_password, tls=server.tls
        )
        try:
            namespace = Namespace.create(
                backend, admin, new_prefix(run.run_id), server_key=(server.host, server.port)
            )
            try:
                connection = backend.connect(
                    *server.address(), namespace.user, namespace.password, tls=server.tls
                )
                try:
                    yield cls(namespace, connection)
                finally:
                    with contextlib.suppress(Exception):
                        connection.close()
            finally:
                namespace.drop()
        finally:
            with contextlib.suppress(Exception):
                admin.close()
