"""The harness as its users get it: a built wheel in a fresh virtual environment.

Element maintainers and labs install the harness from the package index, never
from this checkout. Tests that must prove something works *for them* use
:func:`installed_harness`: the wheel is built from a copy of the tracked tree,
installed (not editable) with its dependencies into a new environment outside
the checkout, and its commands run from directories that are not the checkout.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
import zipfile
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


def _pip_wheel(source: Path, dist: Path) -> Path:
    """``pip wheel`` of a source tree or an sdist, as an installer builds it; the wheel's path."""
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
        f"building the wheel from {source.name}",
    )
    (wheel,) = dist.glob("element_harness-*.whl")
    return wheel


def build_wheel(work: Path) -> Path:
    """Build the harness wheel from a copy of the tree; the wheel's path."""
    return _pip_wheel(_tracked_copy(work / "source"), work / "dist")


def build_sdist(work: Path) -> Path:
    """Build the sdist from a copy of the tree, the way a release does (``python -m build``)."""
    source = _tracked_copy(work / "sdist-source")
    dist = work / "sdist"
    _checked(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(dist), str(source)],
        "building the sdist",
    )
    (sdist,) = dist.glob("element_harness-*.tar.gz")
    return sdist


def build_wheel_from_sdist(sdist: Path, work: Path) -> Path:
    """The wheel pip builds when it installs from ``sdist``."""
    return _pip_wheel(sdist, work / "dist-from-sdist")


def wheel_contents(wheel: Path) -> dict[str, tuple[str, bool]]:
    """Each file of a wheel: its sha256 and whether it is executable (RECORD left out)."""
    contents = {}
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            if info.is_dir() or info.filename.endswith(".dist-info/RECORD"):
                continue
            digest = hashlib.sha256(archive.read(info)).hexdigest()
            contents[info.filename] = (digest, bool((info.external_attr >> 16) & 0o111))
    return contents


def floor_requirements(wheel: Path, extras: tuple[str, ...] = ("pytest",)) -> list[str]:
    """The wheel's direct dependencies (and ``extras``) pinned to their declared lower bounds.

    What an installer resolving "lowest direct" would pick: ``testcontainers>=4.15,<5``
    becomes ``testcontainers==4.15``. A dependency without a lower bound is an error:
    it has no floor to test.
    """
    from packaging.requirements import Requirement

    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        lines = archive.read(metadata).decode().splitlines()
    pins = []
    for line in lines:
        if not line.startswith("Requires-Dist:"):
            continue
        requirement = Requirement(line.split(":", 1)[1].strip())
        marker = requirement.marker
        if marker is not None and not any(
            marker.evaluate({"extra": extra}) for extra in ("", *extras)
        ):
            continue
        floors = [s.version for s in requirement.specifier if s.operator == ">="]
        if len(floors) != 1:
            raise AssertionError(f"{requirement} declares no single lower bound")
        extra_names = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
        pins.append(f"{requirement.name}{extra_names}=={floors[0]}")
    return pins


def create_environment(
    work: Path, wheel: Path, *requirements: str, extras: str = ""
) -> InstalledHarness:
    """A fresh environment under ``work``: ``wheel`` (with ``extras``) and ``requirements``."""
    environment = work / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(environment)
    installed = InstalledHarness(venv=environment, wheel=wheel)
    installed.pip_install(f"{wheel}{extras}", *requirements)
    return installed


def create_installed_harness(work: Path, *extra_requirements: str) -> InstalledHarness:
    """A fresh environment under ``work`` with the wheel, this DataJoint version and extras."""
    import datajoint

    wheel = build_wheel(work)
    requirements = (f"datajoint=={datajoint.__version__}", *extra_requirements)
    return create_environment(work, wheel, *requirements, extras="[postgres,pytest]")


def create_floor_harness(work: Path, wheel: Path, datajoint: str | None = None) -> InstalledHarness:
    """A fresh environment with ``wheel`` and every direct dependency at its declared floor.

    ``datajoint`` replaces DataJoint's own floor: the other floors must hold under every
    DataJoint version the harness supports, so the suite runs this once per version.
    """
    pins = floor_requirements(wheel)
    if datajoint is not None:
        pins = [pin for pin in pins if not pin.startswith("datajoint==")]
        pins.append(f"datajoint=={datajoint}")
    return create_environment(work, wheel, *pins)
