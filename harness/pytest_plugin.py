"""The pytest plugin, registered through the ``pytest11`` entry point.

Thin over plain classes (:class:`harness.shared_server.SharedServer`,
:mod:`harness.settings`), in the manner of pytest's own plugins: options in one
``harness`` group, values also read from ``[tool.harness]`` and ``HARNESS_*``,
and session-scoped state kept in ``config.stash``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.db.server import ServerInfo
from harness.errors import HarnessError
from harness.interrupts import sigterm_as_interrupt
from harness.redact import redact_text
from harness.runinfo import RunIdentity
from harness.settings import OPTIONS, Settings, load_pyproject_table, resolve_settings
from harness.shared_server import SharedServer

SETTINGS_KEY = pytest.StashKey[Settings]()
SERVER_KEY = pytest.StashKey[SharedServer]()
_RESTORE_SIGTERM = pytest.StashKey[Callable[[], None]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "element-harness (DataJoint Elements on real servers)")
    for option in OPTIONS:
        help_text = f"{option.help} [env {option.env_var}, [tool.harness] {option.ini_key}]"
        dest = f"harness_{option.name}"
        if option.kind == "bool":
            group.addoption(
                option.pytest_flag,
                action="store_const",
                const=True,
                default=None,
                dest=dest,
                help=help_text,
            )
        else:
            group.addoption(
                option.pytest_flag, default=None, dest=dest, metavar=option.metavar, help=help_text
            )


def _settings_from(config: pytest.Config) -> Settings:
    cli_values: dict[str, Any] = {}
    for option in OPTIONS:
        raw = config.getoption(f"harness_{option.name}")
        if raw is None or option.kind == "bool":
            cli_values[option.name] = raw
        else:
            try:
                cli_values[option.name] = option.parse(raw)
            except ValueError as exc:
                raise pytest.UsageError(f"{option.pytest_flag}: {exc}") from None
    table, path = load_pyproject_table(config.rootpath)
    return resolve_settings(
        cli_values, os.environ, table, path, known_extra_keys=frozenset({"elements"})
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        settings = _settings_from(config)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SETTINGS_KEY] = settings
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and "harness_run" in workerinput:
        run = RunIdentity.from_json(workerinput["harness_run"])
        share_dir = Path(workerinput["harness_share_dir"])
        owner = False
    else:
        run = RunIdentity.new()
        share_dir = Path(tempfile.mkdtemp(prefix=f"element-harness-{run.run_id}-"))
        owner = True
        config.stash[_RESTORE_SIGTERM] = sigterm_as_interrupt()
    config.stash[SERVER_KEY] = SharedServer(settings, run, share_dir, owner=owner)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: hand the run's identity and shared directory to each worker."""
    shared = node.config.stash[SERVER_KEY]
    node.workerinput["harness_run"] = shared.run.to_json()
    node.workerinput["harness_share_dir"] = str(shared.share_dir)


def pytest_unconfigure(config: pytest.Config) -> None:
    shared = config.stash.get(SERVER_KEY, None)
    if shared is not None:
        shared.close()
    restore = config.stash.get(_RESTORE_SIGTERM, None)
    if restore is not None:
        restore()


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None:
        return None
    where = redact_text(settings.external) if settings.external else settings.db
    return f"element-harness: server {where}" + (" (reuse)" if settings.reuse else "")


@pytest.fixture(scope="session")
def harness_settings(pytestconfig: pytest.Config) -> Settings:
    """The resolved harness settings (options, environment, pyproject.toml)."""
    return pytestconfig.stash[SETTINGS_KEY]


@pytest.fixture(scope="session")
def harness_server(pytestconfig: pytest.Config) -> ServerInfo:
    """The run's database server, started on first use and shared by xdist workers.

    A missing engine or a server that fails to start fails the test with the
    harness's own message (never a skip: a check that did not run did not pass).
    """
    try:
        return pytestconfig.stash[SERVER_KEY].get()
    except HarnessError as exc:
        pytest.fail(str(exc), pytrace=False)
