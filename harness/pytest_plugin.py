"""The pytest plugin, registered through the ``pytest11`` entry point.

Thin over plain classes (:class:`harness.shared_server.SharedServer`,
:mod:`harness.settings`), in the manner of pytest's own plugins: options in one
``harness`` group, values also read from ``[tool.harness]`` and ``HARNESS_*``,
and session-scoped state kept in ``config.stash``.

Installing the harness loads this plugin into *every* pytest run of the
environment, most of which never use it. So loading it imports only the
settings table and the standard library: the server machinery (testcontainers,
docker, the database drivers, DataJoint, rich, ``harness.db``) is imported when
a harness fixture, an Element item or the report option is actually used
(``tests/test_wheel.py`` checks this; ``bench/plugin_overhead.py`` measures it).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from harness.errors import HarnessError
from harness.interrupts import sigterm_as_interrupt
from harness.runinfo import RunIdentity
from harness.settings import OPTIONS, Settings, load_pyproject_table, resolve_settings

if TYPE_CHECKING:
    from harness.db.server import ServerInfo
    from harness.shared_server import SharedServer

#: Warnings of the dependencies DataJoint 0.14 imports, added to every run's filters: a
#: user's test that activates an Element should not print thousands of lines that are not
#: theirs (DataJoint 0.14 calls pyparsing's old camelCase API at import).
WARNING_FILTERS = (
    "ignore::DeprecationWarning:datajoint",
    "ignore::DeprecationWarning:pyparsing",
)


class LazySharedServer:
    """The run's :class:`~harness.shared_server.SharedServer`, made on first use.

    Holds what every process of the run must agree on (the run identity and the
    shared directory) without importing the server machinery; ``get()`` imports
    it and starts or joins the server.
    """

    def __init__(
        self, settings: Settings, run: RunIdentity, share_dir: Path | None, *, owner: bool
    ) -> None:
        self.settings = settings
        self.run = run
        self.owner = owner
        self._share_dir = share_dir
        self._shared: SharedServer | None = None

    @property
    def share_dir(self) -> Path:
        """The run-wide directory (made by the owner the first time anyone needs it)."""
        if self._share_dir is None:
            self._share_dir = Path(tempfile.mkdtemp(prefix=f"element-harness-{self.run.run_id}-"))
        return self._share_dir

    def _server(self) -> SharedServer:
        if self._shared is None:
            from harness.shared_server import SharedServer

            self._shared = SharedServer(self.settings, self.run, self.share_dir, owner=self.owner)
        return self._shared

    def get(self) -> ServerInfo:
        """The run's server, started on first use by whichever process asks first."""
        return self._server().get()

    def close(self) -> None:
        """Owner: remove what the run made, if it made anything. Others: nothing."""
        if not self.owner:
            return
        if self._shared is None:
            if self._share_dir is None:
                return  # the harness was not used: nothing imported, nothing to remove
            if not any(self._share_dir.iterdir()):
                # Handed to xdist workers, none of which used it.
                shutil.rmtree(self._share_dir, ignore_errors=True)
                return
        # A worker may have started the server without this process asking for it.
        self._server().close()


SETTINGS_KEY = pytest.StashKey[Settings]()
SERVER_KEY = pytest.StashKey[LazySharedServer]()
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
        elif option.kind == "list":
            group.addoption(
                option.pytest_flag,
                action="append",
                default=None,
                dest=dest,
                metavar=option.metavar,
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
        elif option.kind == "list":
            cli_values[option.name] = tuple(item for value in raw for item in option.parse(value))
        else:
            try:
                cli_values[option.name] = option.parse(raw)
            except ValueError as exc:
                raise pytest.UsageError(f"{option.pytest_flag}: {exc}") from None
    table, path = load_pyproject_table(config.rootpath)
    return resolve_settings(cli_values, os.environ, table, path)


def pytest_configure(config: pytest.Config) -> None:
    try:
        settings = _settings_from(config)
    except HarnessError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SETTINGS_KEY] = settings
    for line in WARNING_FILTERS:
        config.addinivalue_line("filterwarnings", line)
    workerinput = getattr(config, "workerinput", None)
    share_dir: Path | None
    if workerinput is not None and "harness_run" in workerinput:
        run = RunIdentity.from_json(workerinput["harness_run"])
        share_dir = Path(workerinput["harness_share_dir"])
        owner = False
    else:
        run = RunIdentity.new()
        share_dir = None  # made on first use: a run that never uses the harness makes nothing
        owner = True
        config.stash[_RESTORE_SIGTERM] = sigterm_as_interrupt()
    config.stash[SERVER_KEY] = LazySharedServer(settings, run, share_dir, owner=owner)
    config.addinivalue_line(
        "markers",
        "harness_element(*targets): run the test once per Element target; the test gets "
        "the target through the `harness_element` fixture",
    )


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


_RESULTS_FILE = "results-{worker}.json"


def _results_payload(config: pytest.Config) -> dict[str, Any]:
    """This process's Element results and the environment they were obtained in."""
    from harness.session import environment

    results = config.stash.get(RESULTS_KEY, [])
    server = config.stash[SERVER_KEY].get() if results else None
    return {"environment": environment(server), "results": [r.to_dict() for r in results]}


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """With ``--harness-report DIR``: workers hand their results over, the owner writes."""
    config = session.config
    settings = config.stash.get(SETTINGS_KEY, None)
    shared = config.stash.get(SERVER_KEY, None)
    if settings is None or shared is None or not settings.report:
        return
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:  # an xdist worker: the controller writes the reports
        path = shared.share_dir / _RESULTS_FILE.format(worker=workerinput["workerid"])
        path.write_text(json.dumps(_results_payload(config)), encoding="utf-8")
        return
    _write_reports(config, shared.share_dir, Path(settings.report))


def _write_reports(config: pytest.Config, share_dir: Path, directory: Path) -> None:
    """Gather this process's and every worker's results, in the order targets were given."""
    from harness import __version__
    from harness.reports import write_reports
    from harness.reports.loading import result_from_dict
    from harness.session import RunReport

    payloads = [_results_payload(config)]
    payloads += [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(share_dir.glob(_RESULTS_FILE.format(worker="*")))
    ]
    with_server = [p for p in payloads if p["results"]] or payloads
    report = RunReport(__version__, with_server[0]["environment"])
    order = list(config.stash[SETTINGS_KEY].elements)
    results = [result_from_dict(data) for p in payloads for data in p["results"]]
    results.sort(key=lambda r: order.index(r.target) if r.target in order else len(order))
    report.results.extend(results)
    paths = write_reports(report, directory)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"element-harness: reports written: {', '.join(map(str, paths))}")


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None:
        return None
    from harness.redact import redact_text

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


# -- Elements as test items (zero-code mode) -------------------------------------------------


class ElementCheckFailed(Exception):
    """Raised by an Element item; its message is the report, not a traceback."""


class HarnessElementItem(pytest.Item):
    """One Element checked on the run's server: ``harness::element-lab[mysql]``."""

    def __init__(self, *, target: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target
        self.result: Any = None

    def runtest(self) -> None:
        from harness.activation.runner import check_options
        from harness.isolation.supervisor import preload_in_background, run_isolated
        from harness.session import prepare_targets

        settings = self.config.stash[SETTINGS_KEY]
        shared = self.config.stash[SERVER_KEY]
        try:
            (target,) = prepare_targets([self.target], install=True, say=lambda text: None)
            preload_in_background()  # DataJoint's imports overlap the server's start
            server = shared.get()
        except HarnessError as exc:
            raise ElementCheckFailed(str(exc)) from None
        options = check_options(settings)
        # In a process of its own, like `harness check`: Element code cannot end pytest.
        (self.result,) = run_isolated([target], server, shared.run, options, jobs=1)
        self.config.stash.setdefault(RESULTS_KEY, []).append(self.result)
        if self.result.status != "passed":
            raise ElementCheckFailed(render_failure(self.result))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ElementCheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, self.name


RESULTS_KEY = pytest.StashKey[list[Any]]()


def render_failure(result: Any) -> str:
    """The failure class and message, then every other failed check with its detail."""
    lines = [f"{result.name}: {result.status}"]
    failure = result.failure.render() if result.failure is not None else None
    if failure is not None:
        lines.append(failure)
    for check in result.checks:
        if check.status == "failed" and check.detail != failure:
            lines.append(f"check {check.name} failed: {check.detail}")
    return "\n".join(lines)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    settings = config.stash.get(SETTINGS_KEY, None)
    if settings is None or not settings.elements:
        return
    backend = settings.db if not settings.external else "external"
    for target in settings.elements:
        items.append(
            HarnessElementItem.from_parent(
                session, name=f"harness::{target}[{backend}]", target=target
            )
        )


# -- fixtures for custom tests ---------------------------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("harness_element")
    if marker is not None and "harness_element" in metafunc.fixturenames:
        targets = list(marker.args)
        metafunc.parametrize("harness_element", targets, ids=targets)


@pytest.fixture
def harness_namespace(pytestconfig: pytest.Config, harness_server: ServerInfo) -> Any:
    """An isolated namespace on the run's server, with a connection as its own user.

    The namespace's user may touch only schemas named ``namespace.schema(stem)``;
    everything is dropped when the test ends.
    """
    from harness.activation.namespace import NamespaceSession

    shared = pytestconfig.stash[SERVER_KEY]
    with NamespaceSession.open(harness_server, shared.run) as namespace:
        yield namespace


@pytest.fixture
def activate_element(pytestconfig: pytest.Config, harness_server: ServerInfo) -> Any:
    """Activate an Element in a fresh namespace and return the live activation.

    ``activate_element("element-lab")`` returns an
    :class:`~harness.activation.runner.Activation`: ``.modules`` (the activated
    Element modules, to insert and fetch rows), ``.linking_module`` (the mock),
    ``.result`` (checks, tables). Keyword overrides (``timeout=``,
    ``stub_missing=``) apply to this call. Verification and teardown run when the
    test ends.
    """
    import contextlib
    import dataclasses

    from harness.activation.namespace import new_prefix
    from harness.activation.runner import ElementCheck, check_options
    from harness.session import prepare_targets

    settings = pytestconfig.stash[SETTINGS_KEY]
    shared = pytestconfig.stash[SERVER_KEY]
    stack = contextlib.ExitStack()

    def activate(target: str, **overrides: Any) -> Any:
        try:
            (resolved,) = prepare_targets([target], install=True, say=lambda text: None)
        except HarnessError as exc:
            pytest.fail(str(exc), pytrace=False)
        # The run's check options (manifest_dir, data, data_seed, ...), with this call's
        # overrides; a fixture compares with the manifest, it never rewrites it.
        options = dataclasses.replace(
            check_options(settings),
            timeout=overrides.pop("timeout", settings.timeout),
            stub_missing=overrides.pop("stub_missing", settings.stub_missing),
            update_manifests=False,
        )
        if overrides:
            raise TypeError(f"unknown overrides: {', '.join(sorted(overrides))}")
        check = ElementCheck(resolved, harness_server, new_prefix(shared.run.run_id), options)
        exited: SystemExit | None = None
        try:
            activation = stack.enter_context(check.activated())
        except SystemExit as exc:  # Element code must not end the test session
            exited = exc
        if exited is not None:
            from harness.isolation.child import escaped_failure

            pytest.fail(escaped_failure(exited, resolved).render(), pytrace=False)
        if activation.result.failure is not None:
            # No live Element to hand over: fail with the harness's own account of why.
            pytest.fail(render_failure(activation.result), pytrace=False)
        return activation

    with stack:
        yield activate


@pytest.fixture
def harness_element(request: pytest.FixtureRequest) -> str:
    """The Element target of a test marked ``@pytest.mark.harness_element(...)``."""
    if not hasattr(request, "param"):
        pytest.fail(
            "harness_element needs @pytest.mark.harness_element('element-...')", pytrace=False
        )
    return str(request.param)
