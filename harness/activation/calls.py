"""Calling an Element's ``activate`` with a deadline: shared by checks and deploys."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from harness.activation.plan import ActivationStep


def call_with_timeout(
    function: Callable[..., Any],
    args: list[Any],
    kwargs: dict[str, Any],
    timeout: float,
    on_timeout: Callable[[], None] = lambda: None,
) -> Any:
    """Run ``function`` in a helper thread and give up after ``timeout`` seconds.

    A hung ``activate`` cannot be killed from Python; ``on_timeout`` ends its
    database sessions so that a thread blocked in SQL returns, and the daemon
    thread is otherwise abandoned. Raises :class:`TimeoutError` (a check reports
    it as ``timeout``), or what ``function`` raised.
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = function(*args, **kwargs)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=run, name="harness-activate", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        on_timeout()
        raise TimeoutError(f"activate() did not return within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def call_step(
    step: ActivationStep,
    module: Any,
    schemas: Mapping[str, str],
    linking_module: Any,
    *,
    timeout: float,
    on_timeout: Callable[[], None] = lambda: None,
) -> Any:
    """Make the call ``step`` plans on the imported ``module``.

    ``schemas`` names each schema stem (inside a namespace, or on a deploy target).
    """
    args, kwargs = step.bind(schemas, linking_module)
    return call_with_timeout(getattr(module, step.function), args, kwargs, timeout, on_timeout)
