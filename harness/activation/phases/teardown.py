"""The namespace a check runs in, from its creation to its teardown.

Whatever the phases in between do, the namespace's schemas and user are dropped
and the admin connection closed when the block ends; ``teardown_clean`` records
what, if anything, was left behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness.activation.namespace import Namespace
from harness.activation.phases.base import MOCK_STEM, CheckContext, Timer, server_guard
from harness.results import ElementResult


@dataclass
class ServerSession:
    """The admin connection of one check, and the schemas the server held before it."""

    admin: Any
    before: set[str]
    namespace: Namespace


@contextlib.contextmanager
def namespace_session(context: CheckContext, timer: Timer) -> Iterator[ServerSession | None]:
    """Connect as admin and create the check's namespace; drop it when the block ends.

    Yields None when the server failed first (recorded as ``server_error``: nothing to
    undo). The namespace is set on ``context`` for the phases that end its sessions.
    """
    server, backend = context.server, context.backend
    admin = None
    session: ServerSession | None = None
    with server_guard(context, "connecting to the server as admin", "activated"):
        admin = backend.connect(
            *server.address(), server.admin_user, server.admin_password, tls=server.tls
        )
        before = backend.all_schemas(admin)
        with timer("namespace_s"):
            context.namespace = Namespace.create(
                backend,
                admin,
                context.prefix,
                [context.schema(MOCK_STEM)],
                server_key=(server.host, server.port),
            )
        session = ServerSession(admin, before, context.namespace)
    try:
        if session is None:
            yield None
            return
        try:
            yield session
        finally:
            left: list[str] | None = None
            with (
                timer("teardown_s"),
                server_guard(context, "dropping the namespace", "teardown_clean"),
            ):
                left = session.namespace.drop()
            if left is not None:
                record_teardown(context.result, left)
    finally:
        if admin is not None:
            with contextlib.suppress(Exception):
                admin.close()


def record_teardown(result: ElementResult, left: list[str]) -> None:
    """The ``teardown_clean`` check: what dropping the namespace left behind, if anything."""
    result.add_check(
        "teardown_clean",
        not left,
        "left behind: " + ", ".join(left) if left else "namespace schemas and user dropped",
    )
