"""A container's own address on this machine's bridge: connections that skip the port proxy.

Docker publishes a container's port on 127.0.0.1 through ``docker-proxy``, a
userland process that copies every byte of every connection. DataJoint asks the
server thousands of small questions per check, and each round trip passes through
that proxy: measured here, a ``SELECT 1`` takes about 0.21-0.27 ms through the
published port and 0.12-0.13 ms at the container's address, and the proxy itself
spends about a second of CPU on the twelve Elements' checks (docs/benchmarks.md).

On Linux the engine's bridge is an interface of this machine and the container's
address on it is reachable without the proxy. That is used only where it can be
verified: the container's network gateway is an address of this machine (a socket
can be bound to it, so the bridge is ours and the address behind it is the
container the engine just described), and the server answers there within a short
deadline. Anywhere else (Docker Desktop, rootless engines, a remote engine, the
harness in another container) there is no direct address and the published port is
used, as before. The published port stays the server's public address: reports,
registry keys and users see 127.0.0.1.

Traffic to the direct address never leaves this machine, like loopback: it is
registered as host-local, so connections there negotiate no TLS either.

The address is the container's only while it lives: once it is gone the engine
may give it to the next container, and a reconnect there reaches another server.
That server refuses this run's random credentials, so nothing of it is touched,
but the refusal would read as the Element's fault; a failed check therefore asks
its server at the published port whether it is still there
(:func:`harness.activation.phases.base.blame_a_vanished_server`).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from typing import Any

#: How long the server may take to accept a connection at its direct address.
PROBE_TIMEOUT_S = 0.5


def direct_address(container: Any, port: int, timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """The container's address on a bridge of this machine where ``port`` answers, or None.

    ``container`` is a docker-py container whose ``attrs`` are current (reloaded
    after the start).
    """
    networks = (container.attrs.get("NetworkSettings") or {}).get("Networks") or {}
    for network in networks.values():
        address, gateway = network.get("IPAddress"), network.get("Gateway")
        if address and gateway and is_own_address(gateway) and answers(address, port, timeout):
            return str(address)
    return None


def is_own_address(address: str) -> bool:
    """Whether ``address`` is assigned to an interface of this machine (it can be bound)."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    except ValueError:
        return False
    with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        return True
    return False


def answers(address: str, port: int, timeout: float) -> bool:
    """Whether something accepts a TCP connection at ``address:port`` within ``timeout``."""
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False
