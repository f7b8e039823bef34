"""Make SIGTERM unwind like Ctrl-C, so that cleanup code runs.

CI systems cancel jobs with SIGTERM; by default Python dies on it without
running ``finally`` blocks, leaving containers behind. Raising KeyboardInterrupt
instead reuses the one cleanup path that already has to work (Ctrl-C).
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any


def _raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"received signal {signum}")


def sigterm_as_interrupt() -> Callable[[], None]:
    """Install the handler unless someone else handles SIGTERM; return an undo function."""
    try:
        previous = signal.getsignal(signal.SIGTERM)
        if previous not in (signal.SIG_DFL, None):
            return lambda: None
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    except ValueError:  # not the main thread: the caller's host owns signals
        return lambda: None
    return lambda: signal.signal(signal.SIGTERM, previous)
