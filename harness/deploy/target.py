"""The production server a deploy talks to, and the password to log in with.

The password comes from the URL, else ``HARNESS_TARGET_PASSWORD``, else an
interactive prompt (never echoed); it is registered for redaction at once, so
no message, log line or traceback text the harness prints can show it. A
server that is not on this machine is only logged in to over verified TLS
(``--tls``, ``--tls-ca``) unless ``--insecure`` says otherwise; that is decided
before a password is asked for or anything is sent.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from harness.db.backends import get_backend
from harness.db.external import ExternalTarget, parse_external_url
from harness.db.tls import TlsSettings, tls_failure, tls_hint
from harness.deploy.arguments import PASSWORD_ENV
from harness.errors import ConfigurationError, ServerUnreachable
from harness.redact import redact_text, register_secret


def resolve_target(
    url: str,
    environ: Mapping[str, str] | None = None,
    interactive: bool | None = None,
    *,
    tls: TlsSettings | None = None,
    insecure: bool = False,
) -> ExternalTarget:
    """The server of ``--target URL`` with a password from the URL, the environment or a prompt."""
    environ = os.environ if environ is None else environ
    target = parse_external_url(url).secured(tls, insecure)
    has_password = urlsplit(url.strip()).password is not None
    if has_password:
        return replace(target, origin="--target")
    password = environ.get(PASSWORD_ENV)
    if password is None:
        tty = sys.stdin.isatty() if interactive is None else interactive
        if not tty:
            raise ConfigurationError(
                f"no password for {target.display()}",
                hint=f"put it in {PASSWORD_ENV} (or in the URL, or run interactively)",
            )
        password = getpass.getpass(f"password for {target.display()}: ")
    register_secret(password)
    return replace(target, password=password, origin="--target")


def connect(target: ExternalTarget, timeout: float) -> Any:
    """A DB-API connection as the target's user; one clear error for every way this fails."""
    backend = get_backend(target.backend)
    try:
        return backend.connect(
            target.host, target.port, target.user, target.password, timeout=timeout, tls=target.tls
        )
    except backend.driver_errors() as exc:
        if target.tls is not None and tls_failure(exc):
            raise ServerUnreachable(
                f"cannot connect to {target.display()} over TLS: {redact_text(str(exc))}",
                hint=tls_hint(target.tls),
            ) from None
        raise ServerUnreachable(
            f"cannot connect to {target.display()}: {redact_text(str(exc))}",
            hint="check host, port, user and password, and that the server is running",
        ) from None
