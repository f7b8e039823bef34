"""Errors the harness explains to its user.

Every failure a user can cause or fix (a bad option, no container engine, an
image that cannot be found, a server that never becomes ready) is raised as a
:class:`HarnessError`. The CLI and the pytest plugin print these as one clear
message plus a hint, never as a traceback from harness internals; anything else
that escapes is a bug in the harness.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base class: a message for the user and, optionally, what to do about it."""

    #: Process exit status the CLI uses for this error (2: usage/config/environment).
    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class ConfigurationError(HarnessError):
    """An option, setting file or URL is malformed or contradicts another."""


class EngineUnavailable(HarnessError):
    """No container engine answers (Docker daemon down, DOCKER_HOST wrong, ...)."""


class ImageUnavailable(HarnessError):
    """The requested image is neither present locally nor pullable."""


class ServerStartError(HarnessError):
    """A database container exited, or did not accept SQL before the timeout."""


class ServerUnreachable(HarnessError):
    """An external server could not be connected to (host, port or credentials)."""
