"""Readiness judged by SQL, not by log lines.

Images differ in what they print and how often (the official MySQL image says
"ready for connections" twice, a minimal image once), so the only reliable
signal is a real connection that runs a query. Polling starts fast (50 ms) so a
server that is ready in half a second is used in half a second, and every wait
has a deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from harness.db.backends.base import Backend
from harness.db.tls import tls_failure

if TYPE_CHECKING:
    from harness.db.tls import TlsSettings

#: Poll every FAST_DELAY seconds during the first FAST_PHASE seconds, when a local
#: image (SQL-ready in 0.4-2 s) comes up: a backed-off poll there adds a sizeable
#: fraction to the start-up time (measured: up to 15% for a 1 s server).
FAST_DELAY = 0.05
FAST_PHASE = 5.0
#: Then back off up to this far apart (slow images; each attempt costs CPU).
SLOW_MAX_DELAY = 0.5


class NotReady(Exception):
    """The deadline passed; ``last_error`` is what the last attempt said."""

    def __init__(self, waited: float, last_error: BaseException | None) -> None:
        super().__init__(f"not ready after {waited:.1f} s")
        self.waited = waited
        self.last_error = last_error


def wait_for_sql(
    backend: Backend,
    host: str,
    port: int,
    user: str,
    password: str,
    *,
    timeout: float,
    check_alive: Callable[[], None] | None = None,
    tls: TlsSettings | None = None,
) -> str:
    """Poll until a query succeeds; return the server version.

    ``check_alive`` is called before every attempt and raises when the thing
    being waited for can no longer become ready (a container that exited), so
    that such failures are reported at once rather than at the deadline.
    """
    start = time.monotonic()
    deadline = start + timeout
    delay = FAST_DELAY
    last_error: BaseException | None = None
    errors = backend.driver_errors()
    while True:
        if check_alive is not None:
            check_alive()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise NotReady(time.monotonic() - start, last_error)
        try:
            return backend.probe(
                host, port, user, password, timeout=min(5.0, max(0.5, remaining)), tls=tls
            )
        except errors as exc:
            last_error = exc
            if tls is not None and tls_failure(exc):
                # A certificate that does not verify will not verify later either.
                raise NotReady(time.monotonic() - start, exc) from None
        time.sleep(max(0.0, min(delay, deadline - time.monotonic())))
        fast = time.monotonic() - start < FAST_PHASE
        delay = FAST_DELAY if fast else min(delay * 1.5, SLOW_MAX_DELAY)
