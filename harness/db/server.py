"""The description of a running database server, whatever started it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import quote

from harness.db.backends.base import register_host_local
from harness.db.tls import TlsSettings
from harness.redact import MASK


@dataclass(frozen=True)
class ImageRef:
    """A container image by the name the user gave and the id the engine resolved."""

    name: str
    id: str


@dataclass(frozen=True)
class ServerInfo:
    """A server that accepts SQL: enough to connect as admin and to report what it is.

    ``kind`` is ``container`` (started and removed by this run), ``reused`` (a
    long-lived container kept between runs) or ``external`` (never started or
    stopped by the harness). The admin password is excluded from ``repr`` so it
    cannot slip into a log or an assertion message.
    """

    backend: str
    host: str
    port: int
    admin_user: str
    admin_password: str = field(repr=False)
    version: str
    kind: str
    image: ImageRef | None = None
    container_id: str | None = None
    #: How every connection to this server verifies TLS; None: no TLS (loopback).
    tls: TlsSettings | None = None
    #: The container's own address on a bridge of this machine, where connections skip
    #: the engine's port proxy (see harness/db/direct_route.py); None: use host:port.
    direct_host: str | None = None
    direct_port: int | None = None

    def __post_init__(self) -> None:
        if self.direct_host is not None:
            # Whichever process reads this description may connect there without TLS.
            register_host_local(self.direct_host)

    def address(self) -> tuple[str, int]:
        """Where connections go: the direct address when there is one, else host:port."""
        if self.direct_host is not None and self.direct_port is not None:
            return self.direct_host, self.direct_port
        return self.host, self.port

    def url(self, *, reveal_password: bool = False) -> str:
        """A connection URL; the password is masked unless explicitly revealed."""
        password = quote(self.admin_password, safe="") if reveal_password else MASK
        user = quote(self.admin_user, safe="")
        return f"{self.backend}://{user}:{password}@{self.host}:{self.port}"

    def describe(self) -> str:
        """One human line: backend, version, address and origin (no secret)."""
        origin = f"image {self.image.name}" if self.image else "external server"
        if self.tls is not None:
            origin += f", {self.tls.describe()}"
        return f"{self.backend} {self.version} at {self.host}:{self.port} ({self.kind}, {origin})"

    def public_dict(self) -> dict[str, Any]:
        """What reports may show: everything but the password."""
        data = asdict(self)
        data.pop("admin_password")
        return data

    def to_json(self) -> str:
        """Full serialisation, password included: only for 0600 files shared by one run."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ServerInfo:
        data = json.loads(text)
        image = data.pop("image")
        tls = data.pop("tls", None)
        return cls(
            **data,
            image=ImageRef(**image) if image else None,
            tls=TlsSettings(**tls) if tls else None,
        )
