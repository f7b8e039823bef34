"""The harness as its users get it: a built wheel in a fresh virtual environment.

Element maintainers and labs install the harness from the package index, never
from this checkout. Tests that must prove something works *for them* use
:func:`installed_harness`: the wheel is built from a copy of the tracked tree,
installed (not editable) with its dependencies into a new environment outside
the checkout, and its commands run from directories that are not the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Generous: a fresh environment downloads DataJoint and its dependencies.
INSTALL_TIMEOUT_S = 900.0


@dataclass(frozen=True)
class InstalledHarness:
    """A fresh environment holding the harness wheel; run its commands anywhere."""

    venv: Path
    wheel: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name

    def environment(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The caller's environment without anything that would reach this checkout."""
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("HARNESS_", "DJ_", "PYTHON", "VIRTUAL_ENV"))
        }
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env.update(extra or {})
        return env

    def run(
        self,
        *args: str,
        cwd: Path,
        env: dict[str, str] | None = None,
        timeout: float = 600.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``args`` (``harness ...``, ``pytest ...``) with the environment's ``bin`` first."""
        command = list(args)
        if not Path(command[0]).is_absolute() and self.bin(command[0]).exists():
            command[0] = str(self.bin(command[0]))
        return subprocess.run(
            command,
            cwd=cwd,
            env=self.environment(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def pip_install(self, *requirements: str) -> None:
        _checked(
            [
                str(self.python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *requirements,
            ],
            "pip install " + " ".join(requirements),
        )


def _checked(command: list[str], what: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"{what} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _tracked_copy(destination: Path) -> Path:
    """The files git tracks (plus new, unignored ones), copied: the build never writes here."""
    listed = _checked(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        "git ls-files",
        cwd=ROOT,
    )
    for relative in filter(None, listed.split("\0")):
        source = ROOT / relative
        if source.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


def build_wheel(work: Path) -> Path:
    """Build the harness wheel from a copy of the tree; the wheel's path."""
    source = _tracked_copy(work / "source")
    dist = work / "dist"
    _checked(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(dist),
            str(source),
        ],
        "building the wheel",
    )
    (wheel,) = dist.glob("element_harness-*.whl")
    return wheel


def create_installed_harness(work: Path, *extra_requirements: str) -> InstalledHarness:
    """A fresh environment under ``work`` with the wheel, this DataJoint version and extras."""
    import datajoint

    wheel = build_wheel(work)
    environment = work / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(environment)
    installed = InstalledHarness(venv=environment, wheel=wheel)
    installed.pip_install(
        f"{wheel}[postgres]", f"datajoint=={datajoint.__version__}", *extra_requirements
    )
    return installed
