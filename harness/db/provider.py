"""Choose and provide the server for a run: external, reused or fresh container.

:func:`provide_server` is the one entry point the CLI and the pytest plugin
use; it is a context manager so that whatever it started is removed on every
way out, KeyboardInterrupt included.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from harness.db.backends import get_backend
from harness.db.backends.base import Backend
from harness.db.container import resolve_image, start_container_server
from harness.db.external import (
    ExternalTarget,
    connect_external,
    external_from_datajoint_env,
    parse_external_url,
)
from harness.db.reuse import acquire_reusable_server
from harness.db.server import ServerInfo
from harness.db.sweep import sweep_containers
from harness.db.tls import tls_settings
from harness.errors import ConfigurationError
from harness.runinfo import RunIdentity
from harness.settings import Settings

log = logging.getLogger("harness.server")


def external_target(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> ExternalTarget | None:
    """The external server the settings or DJ_* variables name, if any, with its TLS.

    A login to a host other than this machine without TLS is refused here, before
    anything is sent, unless ``--insecure`` says the network is trusted.
    """
    if settings.external:
        target: ExternalTarget | None = parse_external_url(settings.external)
    else:
        target = external_from_datajoint_env(os.environ if environ is None else environ)
    if target is None:
        return None
    return target.secured(tls_settings(settings.tls, settings.tls_ca), settings.insecure)


def default_image_for(backend: Backend) -> str:
    """The image to use when none is configured.

    The official image when the engine has it, else the locally built
    equivalent (``harness images ensure``), else the official name (which may
    be pullable from a registry).
    """
    try:
        from harness.images.ensure import resolve_default_image
    except ImportError:  # pragma: no cover - images package is part of the distribution
        return backend.default_image
    return resolve_default_image(backend.name) or backend.default_image


@contextmanager
def provide_server(
    settings: Settings, run: RunIdentity | None = None, *, sweep: bool = True
) -> Iterator[ServerInfo]:
    """Yield a server that accepts SQL as admin; remove it afterwards if we started it."""
    run = run or RunIdentity.new()
    target = external_target(settings)
    if target is not None:
        log.info("using external server %s (from %s)", target.display(), target.origin)
        yield connect_external(target, timeout=settings.startup_timeout)
        return
    if settings.tls or settings.tls_ca:
        raise ConfigurationError(
            "--tls and --tls-ca are for an external server, and none is given",
            hint="name it with --external URL (or DJ_HOST); the harness's own containers "
            "are reached on 127.0.0.1 without TLS",
        )
    backend = get_backend(settings.db)
    if sweep:
        report = sweep_containers(run)
        for name in report.removed:
            log.info("swept leftover container %s of a dead run", name)
    image = resolve_image(settings.image or default_image_for(backend))
    if settings.reuse:
        yield acquire_reusable_server(backend, image, run, timeout=settings.startup_timeout)
        return
    server = start_container_server(backend, image, run, timeout=settings.startup_timeout)
    try:
        yield server.info
    finally:
        server.stop()
