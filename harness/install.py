"""Installing an Element a spec names, when it is missing.

A spec says what to install (a requirement, ``--no-deps`` or not, the light
dependencies) so that checking a schema never drags in an Element's
gigabytes of analysis packages. Installation goes into the running
environment, is announced, and can be forbidden (``--no-install``).
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.errors import HarnessError

INSTALL_TIMEOUT = 600.0


class InstallError(HarnessError):
    """pip could not install what a spec asks for."""


def is_importable(package: str) -> bool:
    importlib.invalidate_caches()
    try:
        return importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        return False


def pip_command(spec: Any, missing: list[str] | None = None) -> list[str]:
    """The one pip invocation installing ``missing`` (default: everything the spec names).

    The light dependencies (``with``) go into the same command, so ``no_deps``
    applies to them too: element-interface, say, must not pull in its own heavy
    dependencies.
    """
    install = spec.install
    wanted = missing if missing is not None else [install.requirement, *install.with_]
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if install.no_deps:
        command.append("--no-deps")
    for requirement in wanted:
        relative = spec.path.parent / requirement if spec.path is not None else None
        if requirement == install.requirement and relative is not None and relative.exists():
            requirement = str(relative.resolve())
        command.append(requirement)
    return command


def _distribution_installed(requirement: str) -> bool:
    """Whether the distribution a requirement names is installed (any version)."""
    from importlib import metadata

    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if match is None:
        return False
    try:
        metadata.version(match.group(1))
    except metadata.PackageNotFoundError:
        return False
    return True


def missing_parts(spec: Any) -> list[str]:
    """What of the spec's installation is absent: the Element and/or its light deps."""
    if spec.install is None:
        return []
    missing = [] if is_importable(spec.package) else [spec.install.requirement]
    return missing + [req for req in spec.install.with_ if not _distribution_installed(req)]


def ensure_installed(spec: Any, *, allow: bool, say: Callable[[str], None]) -> bool:
    """Install what the spec names and is missing; return whether pip ran."""
    missing = missing_parts(spec)
    if not missing or not allow:
        return False
    say(f"installing {', '.join(missing)} for {spec.name} (missing)")
    commands = [pip_command(spec, missing)]
    for command in commands:
        try:
            completed = subprocess.run(
                command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            raise InstallError(
                f"installing {spec.name} took more than {INSTALL_TIMEOUT:g} s",
                hint="install it by hand, then run with --no-install",
            ) from None
        if completed.returncode != 0:
            tail = "\n".join((completed.stderr or completed.stdout).strip().splitlines()[-8:])
            raise InstallError(
                f"pip could not install {spec.name} ({' '.join(command[4:])}):\n{tail}",
                hint=f"check the [install] table of {spec.path}",
            )
    importlib.invalidate_caches()
    return True


def installed_version(package: str, spec: Any = None) -> str | None:
    """The installed distribution's version for an import package, if known."""
    from importlib import metadata

    names = []
    if spec is not None and spec.install is not None:
        names.append(spec.install.requirement.split("==")[0].split("[")[0].strip())
    names += [package.replace("_", "-"), package]
    for name in names:
        if not name or Path(name).suffix:
            continue
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None
