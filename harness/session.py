"""Check several targets on one server: the engine behind ``harness check`` and pytest.

Targets are resolved (and installed when a spec says how) before any server
starts, so a typo costs nothing; then each target is checked in its own
namespace on the shared server and a :class:`RunReport` collects the results.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from harness import __version__
from harness.activation import compat
from harness.activation.failures import Failure, FailureClass
from harness.activation.namespace import new_prefix
from harness.activation.runner import CheckOptions, ElementCheck
from harness.db.server import ServerInfo
from harness.elements.targets import Target, resolve_target
from harness.install import ensure_installed, installed_version, is_importable
from harness.results import ElementResult, Status
from harness.runinfo import RunIdentity

if TYPE_CHECKING:
    from harness.workflow.check import PipelineCheck


@dataclass
class RunReport:
    """Results of one run, with the environment they were obtained in."""

    harness_version: str
    environment: dict[str, Any]
    results: list[ElementResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(result.status == Status.PASSED for result in self.results)

    def summary(self) -> dict[str, int]:
        counts = {"total": len(self.results), "passed": 0, "failed": 0, "error": 0}
        for result in self.results:
            counts[result.status] = counts.get(result.status, 0) + 1
        return counts


def environment(server: ServerInfo | None) -> dict[str, Any]:
    """What the results depend on: Python, DataJoint, the server (no secrets)."""
    return {
        "python": platform.python_version(),
        "platform": sys.platform,
        "datajoint": compat.version(),
        "server": None
        if server is None
        else {
            "backend": server.backend,
            "version": server.version,
            "kind": server.kind,
            "image": None
            if server.image is None
            else {"name": server.image.name, "id": server.image.id},
        },
    }


def prepare_targets(
    texts: Sequence[str], *, install: bool, say: Callable[[str], None]
) -> list[Target]:
    """Resolve every target and install what specs ask for; errors before any server."""
    targets = [resolve_target(text) for text in texts]
    for target in targets:
        if target.spec is not None and target.spec.install is not None:
            ensure_installed(target.spec, allow=install, say=say)
    return targets


def missing_result(target: Target) -> ElementResult | None:
    """The failed result of a target that is not installed; None when it can be checked."""
    if target.sys_path or is_importable(target.package):
        return None
    result = ElementResult(target=target.text, name=target.name, version=target.version)
    hint = (
        "run without --no-install so the harness installs it"
        if target.spec is not None and target.spec.install is not None
        else f"pip install {target.name}"
    )
    result.fail(
        Failure(
            FailureClass.IMPORT_ERROR,
            f"{target.package} is not installed",
            module=target.package,
            hint=hint,
        )
    )
    result.add_check("imported", False, result.failure.render() if result.failure else "")
    return result


def release_version(target: Target) -> str | None:
    """The installed release, read before the run: the manifest compared is that release's."""
    if target.sys_path:
        return target.version
    return installed_version(target.package, target.spec) or target.version


def new_check(
    target: Target,
    server: ServerInfo,
    prefix: str,
    options: CheckOptions,
    on_step: Callable[[str], None] | None = None,
) -> ElementCheck | PipelineCheck:
    """The check of one target in namespace ``prefix``, announcing its steps to ``on_step``.

    A lab's pipeline module is checked as it is, by :class:`harness.workflow.check.PipelineCheck`.
    """
    if target.pipeline is not None:
        from harness.workflow.check import PipelineCheck

        check: ElementCheck | PipelineCheck = PipelineCheck(
            target, server, prefix, options, on_step=on_step
        )
    else:
        check = ElementCheck(target, server, prefix, options, on_step=on_step)
    check.result.version = release_version(target)
    return check


def check_target(
    target: Target,
    server: ServerInfo,
    run: RunIdentity,
    options: CheckOptions,
    on_step: Callable[[str], None] | None = None,
) -> ElementResult:
    """Check one resolved target in a fresh namespace on ``server``, in this process.

    ``on_step(name)`` is called as each step (``namespace``, ``import``, ``activate``,
    ...) begins, for progress displays. Element code runs in the caller's process:
    :func:`run_checks` isolates each check in a process of its own instead.
    """
    missing = missing_result(target)
    if missing is not None:
        return missing
    return new_check(target, server, new_prefix(run.run_id), options, on_step).run()


def run_checks(
    targets: Sequence[Target],
    server: ServerInfo,
    run: RunIdentity,
    options: CheckOptions,
    on_result: Callable[[ElementResult], None] | None = None,
    on_start: Callable[[Target], None] | None = None,
    on_step: Callable[[Target, str], None] | None = None,
    *,
    jobs: int | None = None,
    isolate: bool = True,
) -> RunReport:
    """Check every target, each in a process of its own, up to ``jobs`` at once.

    ``on_start(target)`` before a target is checked, ``on_step(target, step)`` as each
    of its steps begins, ``on_result(result)`` when it is done (in the order checks
    finish; the report keeps the order of ``targets``). ``isolate=False`` checks in
    this process, one after the other (what the benchmark compares against).
    """
    report = RunReport(__version__, environment(server))
    if isolate:
        from harness.isolation.supervisor import run_isolated

        report.results.extend(
            run_isolated(
                targets,
                server,
                run,
                options,
                jobs=jobs,
                on_start=on_start,
                on_step=on_step,
                on_result=on_result,
            )
        )
        return report
    for target in targets:
        if on_start is not None:
            on_start(target)
        step = None if on_step is None else (lambda name, t=target: on_step(t, name))
        result = check_target(target, server, run, options, on_step=step)
        report.results.append(result)
        if on_result is not None:
            on_result(result)
    return report
