"""Installing an Element a spec names, when it is missing.

A spec says what to install (a requirement, ``--no-deps`` or not, the light
dependencies) so that checking a schema never drags in an Element's
gigabytes of analysis packages. Installation goes into the running
environment, is announced, and can be forbidden (``--no-install``).
"""

from __future__ import annotations

import importlib
import importlib.util
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


def pip_command(spec: Any) -> list[str]:
    """The pip invocation that installs ``spec.install``."""
    install = spec.install
    requirement = install.requirement
    relative = spec.path.parent / requirement if spec.path is not None else None
    if relative is not None and relative.exists():
        requirement = str(relative.resolve())
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if install.no_deps:
        command.append("--no-deps")
    command.append(requirement)
    return command


def ensure_installed(spec: Any, *, allow: bool, say: Callable[[str], None]) -> bool:
    """Install the spec's Element if it cannot be imported; return whether pip ran."""
    if spec.install is None or is_importable(spec.package):
        return False
    if not allow:
        return False
    install = spec.install
    say(
        f"installing {install.requirement} for {spec.name} (not installed; "
        f"{'without' if install.no_deps else 'with'} its dependencies)"
    )
    commands = [pip_command(spec)]
    if install.with_:
        commands.append(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *install.with_,
            ]
        )
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
