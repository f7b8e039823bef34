"""One apply at a time on a server: an advisory lock held for the whole apply.

Two applies started together would each plan "create everything", and both
would activate. The lock is the server's own (MySQL ``GET_LOCK``, PostgreSQL
``pg_advisory_lock``, behind :meth:`~harness.db.backends.base.Backend.try_lock`),
taken on a connection of its own and held from before the plan is recomputed
until verification ends, so the second apply plans only once the first is done,
and finds nothing left to create. The server releases the lock with the session:
an apply that is killed cannot leave it held. Waiting is bounded; a timeout
changes nothing and says who holds the lock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

from harness.db.backends.base import Backend
from harness.errors import HarnessError

#: One name per server: applies of different pipelines to one server queue too,
#: which costs seconds and removes any question of overlapping schemas.
LOCK_NAME = "element-harness.deploy"
#: Longest single wait on the server, well under the driver's read timeout.
_STEP = 2.0


class LockTimeout(HarnessError):
    """Another apply held the lock for longer than ``--lock-timeout``; nothing changed."""

    exit_code = 1


@contextmanager
def deploy_lock(
    backend: Backend,
    connect: Callable[[], Any],
    timeout: float,
    where: str,
    say: Callable[[str], None],
) -> Iterator[None]:
    """Hold the deploy lock of the server ``connect()`` reaches, waiting up to ``timeout`` s."""
    connection = connect()
    try:
        deadline = time.monotonic() + timeout
        if not backend.try_lock(connection, LOCK_NAME, 0):
            holder = backend.lock_holder(connection, LOCK_NAME)
            held_by = f" (held by {holder})" if holder else ""
            say(f"waiting up to {timeout:g} s for the deploy lock on {where}{held_by}")
            while not backend.try_lock(
                connection, LOCK_NAME, min(_STEP, max(deadline - time.monotonic(), 0))
            ):
                if time.monotonic() >= deadline:
                    holder = backend.lock_holder(connection, LOCK_NAME) or holder
                    held_by = f", held by {holder}" if holder else ""
                    raise LockTimeout(
                        f"timed out after {timeout:g} s waiting for the deploy lock on "
                        f"{where}{held_by}: another apply is running; nothing was changed",
                        hint="apply again once it has finished (it then finds what is left), "
                        "or wait longer with --lock-timeout S",
                    )
        say(f"deploy lock taken on {where}")
        try:
            yield
        finally:
            with suppress(*backend.driver_errors()):
                backend.release_lock(connection, LOCK_NAME)
    finally:
        with suppress(*backend.driver_errors()):
            connection.close()
