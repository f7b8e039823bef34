"""``harness init [DIRECTORY]``: configure, check and record an Element in its repository.

In order, and writing nothing until the check has passed: find the packages with
deferred schemas (:mod:`.discover`); resolve the settings from the flags, the
environment and the repository's own pyproject.toml; check every package on a real
server with ``--update-manifests`` semantics into a scratch directory; then plan
each file (the manifests under ``manifest_dir``, default ``tests/manifests/``, the
``[tool.harness]`` table, the GitHub workflow) and write the new ones.

A file that exists and differs is kept, not overwritten (``--force`` replaces it),
and reported as kept; that is not a failure: exit status 0 when the check passed,
whatever was kept, 1 when the check failed (nothing is written), 2 for usage,
configuration or environment errors. Run twice, the second run changes nothing and
says so.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.errors import ConfigurationError
from harness.scaffold.discover import ElementPackage, find_element_packages
from harness.scaffold.files import KEPT, UNCHANGED, WRITES, PlannedFile, plan_file
from harness.scaffold.pyproject import HarnessTable, plan_pyproject
from harness.scaffold.workflow import CALLER_PATH, caller_workflow, workflow_reference
from harness.settings import Settings, resolve_settings

EXIT_OK, EXIT_FAILED = 0, 1
DEFAULT_MANIFEST_DIR = "tests/manifests"


def add_init_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> Any:
    """The ``init`` subcommand; the CLI adds the server and check flags and the handler."""
    parser = subparsers.add_parser(
        "init",
        parents=parents,
        help="add the harness to an Element's repository: [tool.harness], manifests, CI",
        description="Run in an Element's repository: find the package(s) with deferred "
        "schemas, check them on a real server (--db, default mysql), and write the reviewed "
        "manifests (into --manifest-dir, default tests/manifests/), a [tool.harness] table in "
        "pyproject.toml (created when there is only setup.py) and "
        f"{CALLER_PATH}, which calls element-harness's reusable workflow. Existing files "
        "that differ are kept unless --force. Afterwards plain `pytest` checks the Element.",
        epilog="exit status: 0 checked and written (kept files included), 1 the check failed "
        "(nothing written), 2 usage, configuration or environment error",
    )
    parser.add_argument(
        "directory", nargs="?", default=".", metavar="DIRECTORY", help="the repository (default .)"
    )
    parser.add_argument("--force", action="store_true", help="replace existing files that differ")
    parser.add_argument(
        "--workflow-ref",
        metavar="REF",
        help="ref of element-harness's reusable workflow to call (default main), or a whole "
        "reference OWNER/REPO/.github/workflows/element-check.yml@REF",
    )
    return parser


def _repository(text: str) -> Path:
    repo = Path(text).resolve()
    if not repo.is_dir():
        raise ConfigurationError(f"{text} is not a directory", hint="give the Element's repository")
    if not any((repo / name).is_file() for name in ("pyproject.toml", "setup.py", "setup.cfg")):
        raise ConfigurationError(
            f"{repo} has no pyproject.toml, setup.py or setup.cfg: not a Python project",
            hint="run harness init at the top of the Element's repository",
        )
    return repo


def _packages(repo: Path) -> list[ElementPackage]:
    packages = find_element_packages(repo)
    if not packages:
        raise ConfigurationError(
            f"no package in {repo} (or {repo / 'src'}) holds a deferred schema",
            hint="an Element's modules create their schema unnamed: schema = dj.Schema()",
        )
    return packages


def _settings(args: argparse.Namespace, repo: Path) -> Settings:
    """Flags, then the environment, then the repository's own pyproject.toml."""
    from harness.settings import OPTIONS, load_pyproject_table

    cli_values = {option.name: getattr(args, option.name, None) for option in OPTIONS}
    table, path = ({}, None)
    if (repo / "pyproject.toml").is_file():
        table, path = load_pyproject_table(repo)
    return resolve_settings(cli_values, os.environ, table, path)


def _manifest_dir(settings: Settings, repo: Path) -> tuple[Path, str]:
    """The manifests' directory, absolute and as written in [tool.harness] (inside the repo)."""
    directory = (
        Path(settings.manifest_dir) if settings.manifest_dir else repo / DEFAULT_MANIFEST_DIR
    )
    try:
        relative = directory.resolve().relative_to(repo)
    except ValueError:
        raise ConfigurationError(
            f"--manifest-dir {directory} is outside the repository {repo}",
            hint="the reviewed manifests are committed with the Element: choose a directory in it",
        ) from None
    return directory.resolve(), relative.as_posix() or "."


def _check(packages: list[ElementPackage], settings: Settings, scratch: Path, say: Any) -> Any:
    """Check every package, writing its manifest into ``scratch``; the run's report."""
    from harness.activation.runner import check_options
    from harness.db.provider import provide_server
    from harness.elements.targets import resolve_target
    from harness.progress import PlainProgress
    from harness.runinfo import RunIdentity
    from harness.session import run_checks

    if not settings.external:
        from harness.activation import compat

        compat.require_backend_support(settings.db)  # before paying for a server
    targets = [
        replace(resolve_target(str(package.directory)), text=package.target) for package in packages
    ]
    options = replace(check_options(settings), update_manifests=True, manifest_dir=scratch)
    run = RunIdentity.new()
    with provide_server(settings, run) as server:
        say(f"server: {server.describe()}")
        return run_checks(targets, server, run, options, on_result=PlainProgress().finish)


def _workflow_elements(repo: Path, packages: list[ElementPackage]) -> str:
    """``.`` when the repository itself resolves to its one package, else each path."""
    from harness.elements.targets import resolve_target

    if len(packages) == 1:
        try:
            found = resolve_target(str(repo))
        except ConfigurationError:
            found = None
        if found is not None and found.package == packages[0].name:
            return "."
    return " ".join(package.target for package in packages)


def _manifest_plans(scratch: Path, directory: Path, *, force: bool) -> list[PlannedFile]:
    from harness.manifest import diff_manifests, load_manifest

    plans = []
    for written in sorted(scratch.glob("*.json")):
        destination = directory / written.name
        differs = ""
        if destination.is_file() and destination.read_bytes() != written.read_bytes():
            try:
                changes = len(diff_manifests(load_manifest(destination), load_manifest(written)))
            except ConfigurationError:
                differs = "not a readable manifest"
            else:
                differs = f"{changes} schema change(s) from what the check found"
        plans.append(plan_file(destination, written.read_bytes(), force=force, differs=differs))
    return plans


def run_init(args: argparse.Namespace) -> int:
    """Run ``harness init`` as parsed by :func:`add_init_parser` (flags added by the CLI)."""

    def say(text: str) -> None:
        print(text, flush=True)

    repo = _repository(args.directory)
    packages = _packages(repo)
    settings = _settings(args, repo)
    manifest_dir, manifest_text = _manifest_dir(settings, repo)
    say(f"harness init: {repo}")
    for package in packages:
        say(f"  Element {package.target}: deferred schemas in {', '.join(package.schema_modules)}")
    table = HarnessTable(
        elements=tuple(package.target for package in packages),
        db=settings.db,
        manifest_dir=manifest_text,
        stub_missing=settings.stub_missing,
    )
    pyproject = plan_pyproject(repo, table, force=args.force)  # a broken file stops us here
    with tempfile.TemporaryDirectory(prefix="harness-init-") as scratch_text:
        report = _check(packages, settings, Path(scratch_text), say)
        if not report.passed:
            say(
                "harness init: the check failed; nothing was written. Fix what it names "
                "(an import error: install the Element's dependencies, e.g. pip install -e .), "
                "then run harness init again."
            )
            return EXIT_FAILED
        plans = _manifest_plans(Path(scratch_text), manifest_dir, force=args.force)
    workflow = caller_workflow(
        _workflow_elements(repo, packages), workflow_reference(args.workflow_ref)
    )
    plans += [
        pyproject,
        plan_file(repo / CALLER_PATH, workflow.encode("utf-8"), force=args.force),
    ]
    for plan in plans:
        plan.apply()
        say(plan.line(repo))
    _next_steps(repo, plans, packages, settings, manifest_text, say)
    return EXIT_OK


def _next_steps(
    repo: Path,
    plans: list[PlannedFile],
    packages: list[ElementPackage],
    settings: Settings,
    manifest_text: str,
    say: Any,
) -> None:
    written = [plan for plan in plans if plan.status in WRITES]
    kept = [plan for plan in plans if plan.status == KEPT]
    unchanged = [plan for plan in plans if plan.status == UNCHANGED]
    if not written and not kept:
        say(f"harness init: nothing changed ({len(unchanged)} file(s) already up to date)")
    else:
        say(
            f"harness init: {len(written)} file(s) written, {len(unchanged)} unchanged, "
            f"{len(kept)} kept"
        )
    if kept:
        say(
            "  kept files differ from what harness init would write; review them, or rerun "
            "with --force to replace them"
        )
    items = ", ".join(f"harness::{package.target}[{settings.db}]" for package in packages)
    say("next:")
    say(f"  pytest                # runs {items}, compared with {manifest_text}/")
    if written:
        paths = sorted({_shown(plan.path, repo) for plan in written})
        say(f"  git add {' '.join(paths)}")
    say(
        f"  (manifests are per DataJoint major version; under DataJoint {_other_major()} record "
        f"them with `harness check {' '.join(p.target for p in packages)} --update-manifests`)"
    )


def _shown(path: Path, repo: Path) -> str:
    try:
        return path.relative_to(repo).as_posix()
    except ValueError:
        return str(path)


def _other_major() -> str:
    from harness.activation import compat

    return "2.x" if compat.major_version() < 2 else "0.14"
