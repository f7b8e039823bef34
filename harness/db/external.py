"""Existing servers the harness connects to but never starts or stops.

Given as a URL (``--external mysql://user:pass@host:3306``, ``HARNESS_EXTERNAL``)
or through DataJoint's own variables (``DJ_HOST``, ``DJ_PORT``, ``DJ_USER``,
``DJ_PASS``, ``DJ_BACKEND``), so a lab can point the harness at the server its
pipelines already use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import unquote, urlsplit

from harness.db.backends import BACKENDS, get_backend
from harness.db.readiness import NotReady, wait_for_sql
from harness.db.server import ServerInfo
from harness.db.tls import TlsSettings, guard_password, tls_failure, tls_hint
from harness.errors import ConfigurationError, ServerUnreachable
from harness.redact import redact_text, redact_url, register_secret

_SCHEMES = {scheme: backend.name for backend in BACKENDS.values() for scheme in backend.url_schemes}


@dataclass(frozen=True)
class ExternalTarget:
    """Where an external server is and how to log in to it."""

    backend: str
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    origin: str = "--external"
    #: Verified TLS for every connection; None: none (refused off this machine
    #: unless the user said ``--insecure``, see :meth:`secured`).
    tls: TlsSettings | None = None

    def display(self) -> str:
        return f"{self.backend}://{self.user}@{self.host}:{self.port}"

    def secured(self, tls: TlsSettings | None, insecure: bool) -> ExternalTarget:
        """This target with ``tls``, after refusing a login across a network without it."""
        guard_password(self.host, self.display(), tls, insecure)
        return replace(self, tls=tls)


def parse_external_url(url: str) -> ExternalTarget:
    """Parse ``scheme://user:password@host[:port]``; errors never echo the password."""
    shown = redact_url(url)
    try:
        parts = urlsplit(url.strip())
        port_value = parts.port
    except ValueError as exc:
        raise ConfigurationError(
            f"malformed external server URL {shown}: {exc}",
            hint="expected e.g. mysql://user:password@host:3306",
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ConfigurationError(
            f"external server URL {shown} has unknown scheme {parts.scheme!r}",
            hint=f"use one of: {', '.join(sorted(_SCHEMES))}",
        )
    if not parts.hostname:
        raise ConfigurationError(
            f"external server URL {shown} names no host",
            hint="expected e.g. mysql://user:password@host:3306",
        )
    backend = get_backend(_SCHEMES[scheme])
    password = unquote(parts.password or "")
    register_secret(password)
    return ExternalTarget(
        backend=backend.name,
        host=parts.hostname,
        port=port_value or backend.port,
        user=unquote(parts.username or backend.admin_user),
        password=password,
        origin="external URL",
    )


def external_from_datajoint_env(environ: Mapping[str, str]) -> ExternalTarget | None:
    """The server named by DJ_HOST & co., or None when DJ_HOST is unset."""
    host = environ.get("DJ_HOST", "").strip()
    if not host:
        return None
    backend = get_backend(environ.get("DJ_BACKEND", "mysql") or "mysql")
    port_text = environ.get("DJ_PORT", "").strip()
    if ":" in host and not port_text:
        host, port_text = host.rsplit(":", 1)
    try:
        port = int(port_text) if port_text else backend.port
    except ValueError:
        raise ConfigurationError(f"DJ_PORT must be a port number, got {port_text!r}") from None
    password = environ.get("DJ_PASS", "")
    register_secret(password)
    return ExternalTarget(
        backend=backend.name,
        host=host,
        port=port,
        user=environ.get("DJ_USER", backend.admin_user) or backend.admin_user,
        password=password,
        origin="DJ_HOST/DJ_USER/DJ_PASS",
    )


def connect_external(target: ExternalTarget, *, timeout: float) -> ServerInfo:
    """Check that the server answers SQL within ``timeout``; describe it."""
    backend = get_backend(target.backend)
    try:
        version = wait_for_sql(
            backend,
            target.host,
            target.port,
            target.user,
            target.password,
            timeout=timeout,
            tls=target.tls,
        )
    except NotReady as exc:
        reason = redact_text(str(exc.last_error)) if exc.last_error else "no answer"
        if target.tls is not None and exc.last_error and tls_failure(exc.last_error):
            raise ServerUnreachable(
                f"external server {target.display()} (from {target.origin}): TLS failed: {reason}",
                hint=tls_hint(target.tls),
            ) from None
        raise ServerUnreachable(
            f"external server {target.display()} (from {target.origin}) did not accept "
            f"SQL within {timeout:g} s: {reason}",
            hint="check host, port, user and password, and that the server is running",
        ) from None
    return ServerInfo(
        backend=backend.identify(version),
        host=target.host,
        port=target.port,
        admin_user=target.user,
        admin_password=target.password,
        version=version,
        kind="external",
        tls=target.tls,
    )
