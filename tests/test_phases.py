"""The check engine's phases, one at a time, on a real MariaDB server.

Each broken sample fails in exactly one phase: that phase raises ``PhaseFailed``
carrying the classified failure and the check it fails, the phases before it
succeed, and the namespace is gone afterwards. The orchestrator's own timer
announces the steps in order and keeps the reactivation's inner steps out of
the timings.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest

from harness.activation import compat
from harness.activation.failures import Failure, FailureClass
from harness.activation.namespace import new_prefix
from harness.activation.phases import activating, imports, mocking, planning
from harness.activation.phases.base import CheckContext, PhaseFailed, Timer
from harness.activation.phases.capture import reported_warnings
from harness.activation.phases.reactivating import ReactivationFailed
from harness.activation.phases.teardown import namespace_session
from harness.activation.runner import CheckOptions, ElementCheck
from harness.activation.scope import fresh_scope
from harness.db.backends import get_backend
from harness.db.server import ServerInfo
from harness.elements.targets import resolve_target
from harness.results import ElementResult, Status
from harness.runinfo import RunIdentity

RUN = RunIdentity.new()


def _context(spec: str, server: ServerInfo) -> CheckContext:
    target = resolve_target(spec)
    return CheckContext(
        target=target,
        server=server,
        prefix=new_prefix(RUN.run_id),
        backend=get_backend(server.backend),
        result=ElementResult(target=spec, name=target.name),
        timeout=target.timeout or 120.0,
    )


def _first_failure(context: CheckContext) -> tuple[str, PhaseFailed, list[str]]:
    """Run the phases of the Element's first group in order; the one that failed, and how."""
    timer = Timer({})
    passed: list[str] = []
    server = context.server
    with (
        namespace_session(context, timer) as session,
        tempfile.TemporaryDirectory() as data_root,
    ):
        assert session is not None
        namespace = session.namespace
        with (
            reported_warnings(context.result, context.target.package),  # as the check does
            compat.connected(
                server.host, server.port, namespace.user, namespace.password, server.backend
            ),
            fresh_scope(context.packages(), **context.scope_options),
        ):
            phase = "discover"
            try:
                discovery = imports.discover(context, timer)
                passed.append(phase)
                group = discovery.groups()[0]
                loaded: dict[str, Any] = {}
                phase = "import"
                imports.import_group(context, discovery, group, loaded, timer)
                passed.append(phase)
                phase = "plan"
                requirements, steps = planning.plan_group(context, discovery, group, loaded, timer)
                passed.append(phase)
                phase = "mock"
                mock = mocking.link(context, requirements, steps, loaded, Path(data_root), timer)
                passed.append(phase)
                phase = "activate"
                activating.activate(context, steps, loaded, mock, timer)
            except PhaseFailed as failed:
                return phase, failed, passed
    raise AssertionError(f"no phase of {context.target.name} failed")


@pytest.mark.docker
@pytest.mark.parametrize(
    ("spec", "phase", "class_", "check"),
    [
        ("broken-import", "import", FailureClass.IMPORT_ERROR, "imported"),
        ("broken-reference", "plan", FailureClass.UNRESOLVED_REFERENCE, "references_resolved"),
        ("broken-timeout", "activate", FailureClass.TIMEOUT, "activated"),
    ],
)
def test_a_failing_phase_raises_its_failure_and_the_namespace_is_dropped(
    mariadb_server: ServerInfo, spec: str, phase: str, class_: FailureClass, check: str
) -> None:
    context = _context(spec, mariadb_server)
    failed_phase, failed, passed = _first_failure(context)
    assert (failed_phase, failed.failure.class_, failed.check) == (phase, class_, check)
    assert failed.failure.module and failed.failure.module.startswith(context.target.package)
    assert passed == ["discover", "import", "plan", "mock", "activate"][: len(passed)]
    result = context.result
    assert result.failure is None, "a phase raises; recording is the orchestrator's"
    failed.record(result)
    failed.record(result)  # recording twice changes nothing
    assert result.failure == failed.failure and result.status == Status.FAILED
    assert [(c.name, c.status) for c in result.checks if c.name == check] == [(check, "failed")]
    teardown = result.check("teardown_clean")
    assert teardown is not None and teardown.status == "passed", teardown
    admin = get_backend(mariadb_server.backend).connect(
        mariadb_server.host,
        mariadb_server.port,
        mariadb_server.admin_user,
        mariadb_server.admin_password,
    )
    try:
        assert get_backend(mariadb_server.backend).namespace_schemas(admin, context.prefix) == []
    finally:
        admin.close()


def test_discovery_of_a_package_without_deferred_schemas_fails_the_import_phase() -> None:
    server = ServerInfo(
        "mysql", "127.0.0.1", 1, "root", "unused", "9.7", "external"
    )  # not contacted
    context = _context("json", server)
    with pytest.raises(PhaseFailed) as raised:
        imports.discover(context, Timer({}))
    assert raised.value.failure.class_ is FailureClass.IMPORT_ERROR
    assert raised.value.check == "imported"
    assert "no module with a deferred schema" in raised.value.failure.message


def test_a_failed_reactivation_records_its_cause_and_its_own_check() -> None:
    cause = PhaseFailed(
        Failure(FailureClass.IMPORT_ERROR, "gone the second time", module="m"), "imported"
    )
    failed = ReactivationFailed(cause, catalog=[])
    result = ElementResult(target="t", name="t")
    failed.record(result)
    assert result.failure is cause.failure
    assert {c.name: c.status for c in result.checks} == {
        "imported": "failed",
        "reactivation_idempotent": "failed",
    }


def test_the_timer_announces_steps_and_a_quiet_one_keeps_nothing() -> None:
    seen: list[str] = []
    timings: dict[str, float] = {}
    timer = Timer(timings, seen.append)
    with timer("import_s"), timer.quiet()("plan_s"):
        pass
    with timer("import_s"):
        pass
    assert seen == ["import", "import"]
    assert list(timings) == ["import_s"]


@pytest.mark.docker
def test_the_check_announces_its_phases_in_order_on_its_own_timer(
    mariadb_server: ServerInfo,
) -> None:
    steps: list[str] = []
    check = ElementCheck(
        resolve_target("sample-clean"),
        mariadb_server,
        new_prefix(RUN.run_id),
        CheckOptions(),
        on_step=steps.append,
    )
    result = check.run()
    assert result.status == "passed", result.to_dict()
    assert steps[0] == "namespace" and steps[-1] == "teardown"
    order = ["import", "plan", "mock", "activate", "catalog", "reactivate", "verify", "roundtrip"]
    firsts = [steps.index(name) for name in order]
    assert firsts == sorted(firsts), steps
    # The reactivation's own import, plan, mock and activate count as "reactivate" only.
    after = steps[steps.index("reactivate") + 1 :]
    assert not {"import", "plan", "mock", "activate"} & set(after), steps
    assert {"import_s", "activate_s", "reactivate_s", "verify_s"} <= set(result.timings)
