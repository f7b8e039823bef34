"""TLS to servers the harness does not own, and when a password may travel without it.

The harness's own containers are reached on 127.0.0.1, where TLS protects
nothing. A lab's production server (``harness deploy --target``) or a shared
server (``harness check --external``) is usually across a network: there the
password and the schema travel in the clear unless the connection is TLS *with
verification* (the server's certificate chain against a CA, and its name
against the host connected to). An unverified TLS connection is no protection
against someone in the middle, so the harness offers verified TLS only.

:class:`TlsSettings` says how to verify; the Backend adapters turn it into
their driver's options (:meth:`harness.db.backends.base.Backend.connect`) and
DataJoint's (:func:`harness.activation.compat.connected`);
:func:`guard_password` is the one decision whether a connection may go ahead.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from harness.db.backends.base import is_loopback
from harness.errors import ConfigurationError


@dataclass(frozen=True)
class TlsSettings:
    """Verified TLS: the server's chain checked against ``ca`` (else the system's CAs)
    and its certificate's name against the host."""

    #: Absolute path of a PEM file of trusted CA certificates; None: the system's.
    ca: str | None = None

    def context(self) -> ssl.SSLContext:
        """An :class:`ssl.SSLContext` that verifies chain and host name."""
        context = ssl.create_default_context(cafile=self.ca)
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        return context

    def pymysql_options(self) -> dict[str, object]:
        """The ``ssl`` dict PyMySQL (and DataJoint's ``use_tls``) verifies with.

        PyMySQL verifies only when the dict names a CA (``ca`` or ``capath``), so
        without ``--tls-ca`` the system's CA locations are named explicitly.
        """
        if self.ca is not None:
            return {"ca": self.ca, "check_hostname": True, "verify_mode": True}
        paths = ssl.get_default_verify_paths()
        options: dict[str, object] = {"check_hostname": True, "verify_mode": True}
        if paths.cafile and Path(paths.cafile).is_file():
            options["ca"] = paths.cafile
        if paths.capath and Path(paths.capath).is_dir():
            options["capath"] = paths.capath
        if "ca" not in options and "capath" not in options:
            raise ConfigurationError(
                "--tls without --tls-ca, but this system has no CA certificates to verify with",
                hint="give the server's CA certificate with --tls-ca FILE",
            )
        return options

    def describe(self) -> str:
        return f"TLS verified against {self.ca}" if self.ca else "TLS verified (system CAs)"


def tls_settings(enabled: bool, ca: str | None) -> TlsSettings | None:
    """The TLS options of ``--tls`` / ``--tls-ca FILE`` (a CA implies TLS); None: off."""
    if ca is None:
        return TlsSettings() if enabled else None
    path = Path(ca).expanduser()
    if not path.is_file():
        raise ConfigurationError(
            f"--tls-ca {ca}: no such file",
            hint="give the PEM file of the CA that signed the server's certificate",
        )
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, ValueError) as exc:
        raise ConfigurationError(
            f"--tls-ca {ca} is not a PEM file of CA certificates: {exc}",
            hint="give the CA certificate (-----BEGIN CERTIFICATE-----), not a key",
        ) from None
    return TlsSettings(ca=str(path.resolve()))


def guard_password(host: str, shown: str, tls: TlsSettings | None, insecure: bool) -> None:
    """Refuse to log in to a host across a network without verified TLS.

    Decided before any packet is sent (and before a password is asked for): a
    password sent in the clear, or to an unverified peer, is the leak itself.
    """
    if tls is not None or insecure or is_loopback(host):
        return
    raise ConfigurationError(
        f"refusing to send a password to {shown} without TLS ({host} is not this machine)",
        hint="add --tls (and --tls-ca FILE when the server's certificate is signed by "
        "a private CA); --insecure sends it unprotected if you trust the network",
    )


#: What drivers say when verification, not the network, failed (PyMySQL wraps the
#: ``ssl`` exception in an OperationalError's text; libpq reports its own words).
_VERIFICATION_WORDS = (
    "certificate verify failed",
    "does not match host name",
    "root certificate file",
    "sslrootcert",
    "server does not support ssl",
    "ssl is required",
    "ssl connection is required",
)


def tls_failure(error: BaseException) -> bool:
    """Whether ``error`` says TLS could not be set up or verified (retrying will not help)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError | ssl.CertificateError):
            return True
        seen = getattr(seen, "original_exception", None) or seen.__cause__
    text = str(error).lower()
    return any(words in text for words in _VERIFICATION_WORDS)


def tls_hint(tls: TlsSettings) -> str:
    """What to do when the server's certificate did not verify."""
    trusted = f"the CA in {tls.ca}" if tls.ca else "the system's CAs"
    return (
        f"the server's certificate must be signed by {trusted} and name the host you "
        "connect to (subjectAltName); give its CA with --tls-ca FILE, and connect by the "
        "name on the certificate"
    )
