"""One isolated Python environment per DataJoint version, created once and reused.

An environment is rebuilt only when what it was built from changes: the
harness version and ``pyproject.toml``, the DataJoint version, the base
Python, and (for ``--from-lock``) the pinned package set. Those inputs are
written to ``.fingerprint`` inside it. ``uv`` builds it when available (seconds),
``venv`` + ``pip`` otherwise. An existing interpreter can be given instead
(``--python-env 0.14.10=.venvs/dj-0.14.10``), so tests and developers reuse
what they have.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from harness import __version__, resources
from harness.errors import ConfigurationError, HarnessError

#: Seconds allowed for creating a virtual environment, and for one install command.
CREATE_TIMEOUT = 300.0
INSTALL_TIMEOUT = 1800.0
#: Environment variable: ``0.14.10=/path/to/venv,2.3.5=/other`` (like ``--python-env``).
ENVS_VARIABLE = "HARNESS_MATRIX_ENVS"
#: Environment variable naming the cache directory (like ``--cache-dir``).
CACHE_VARIABLE = "HARNESS_MATRIX_CACHE"


class EnvironmentBuildError(HarnessError):
    """A matrix environment could not be created or installed."""


def default_cache_dir() -> Path:
    """``$HARNESS_MATRIX_CACHE``, else ``.venvs/matrix`` in a source tree, else the user cache."""
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE]).expanduser()
    root = resources.source_root()
    if root is not None:
        return root / ".venvs" / "matrix"
    return Path.home() / ".cache" / "element-harness" / "matrix"


def run_command(command: Sequence[str], timeout: float, what: str) -> str:
    """Run ``command``; its stdout, or :class:`EnvironmentBuildError` quoting stderr."""
    try:
        completed = subprocess.run(
            list(command), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise EnvironmentBuildError(f"{what} took more than {timeout:g} s") from None
    except OSError as exc:
        raise EnvironmentBuildError(f"{what}: {exc}") from None
    if completed.returncode != 0:
        lines = [line for line in (completed.stderr or completed.stdout).splitlines() if line]
        tail = "\n".join(line for line in lines if not line.startswith("WARNING: Location"))
        raise EnvironmentBuildError(f"{what} failed:\n" + "\n".join(tail.splitlines()[-12:]))
    return completed.stdout


def find_uv() -> str | None:
    """``uv`` when it is on PATH (or named by ``HARNESS_UV``)."""
    return os.environ.get("HARNESS_UV") or shutil.which("uv")


def python_version_of(python: str) -> str:
    """The full version line of an interpreter (part of every fingerprint)."""
    out = run_command(
        [python, "-c", "import sys; print(sys.version.split()[0])"], 30.0, f"running {python}"
    )
    return out.strip()


@dataclass(frozen=True)
class Environment:
    """A ready environment: its interpreter and what it was built from."""

    datajoint: str
    python: Path
    path: Path
    fingerprint: str
    origin: str  # "created", "reused" or "given"


def env_python(path: Path) -> Path:
    return path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def harness_requirement() -> list[str]:
    """How an environment gets this harness: editable from the source tree, else pinned."""
    root = resources.source_root()
    return (
        ["-e", f"{root}[postgres]"]
        if root is not None
        else [f"element-harness[postgres]=={__version__}"]
    )


def fingerprint_inputs(
    datajoint: str, python_version: str, pins: Sequence[str] | None
) -> dict[str, str]:
    """What an environment depends on; a change to any of them rebuilds it."""
    root = resources.source_root()
    pyproject = (root / "pyproject.toml").read_bytes() if root is not None else b""
    return {
        "harness": __version__,
        "pyproject_sha256": hashlib.sha256(pyproject).hexdigest(),
        "datajoint": datajoint,
        "python": python_version,
        "pins_sha256": hashlib.sha256("\n".join(pins or ()).encode()).hexdigest() if pins else "",
    }


def _install_commands(
    python: Path, datajoint: str, pins: Sequence[str] | None, uv: str | None
) -> list[list[str]]:
    """The install steps: harness + DataJoint, or the pinned set then the harness on top."""
    base = (
        [uv, "pip", "install", "--quiet", "--python", str(python)]
        if uv
        else [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    )
    # uv makes environments without pip; the harness installs Elements with ``python -m pip``.
    pip = ["pip"] if uv and not any(pin.lower().startswith("pip==") for pin in pins or ()) else []
    if not pins:
        return [[*base, *harness_requirement(), f"datajoint=={datajoint}", *pip]]
    harness = harness_requirement()
    harness[-1] = harness[-1].replace("[postgres]", "")
    return [[*base, "--no-deps", *pins, *pip], [*base, "--no-deps", *harness]]


def _create(
    path: Path,
    base_python: str,
    datajoint: str,
    pins: Sequence[str] | None,
    say: Callable[[str], None],
) -> None:
    uv = find_uv()
    shutil.rmtree(path, ignore_errors=True)
    tool = "uv" if uv else "venv + pip"
    say(f"matrix: creating {path} (DataJoint {datajoint}{', pinned' if pins else ''}; {tool})")
    if uv:
        create = [uv, "venv", "--quiet", "--python", base_python, str(path)]
    else:
        create = [base_python, "-m", "venv", str(path)]
    run_command(create, CREATE_TIMEOUT, f"creating {path}")
    for command in _install_commands(env_python(path), datajoint, pins, uv):
        run_command(command, INSTALL_TIMEOUT, f"installing into {path}")


def ensure_environment(
    cache_dir: Path,
    datajoint: str,
    *,
    base_python: str = sys.executable,
    pins: Sequence[str] | None = None,
    say: Callable[[str], None] = lambda text: None,
) -> Environment:
    """The environment for ``datajoint`` under ``cache_dir``, created or reused.

    A file lock makes concurrent matrix runs wait for each other instead of
    building the same directory twice.
    """
    inputs = fingerprint_inputs(datajoint, python_version_of(base_python), pins)
    fingerprint = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
    suffix = f"-lock-{inputs['pins_sha256'][:8]}" if pins else ""
    path = cache_dir / f"dj-{datajoint}{suffix}"
    cache_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=INSTALL_TIMEOUT):
        marker = path / ".fingerprint"
        current = marker.read_text().strip() if marker.is_file() else ""
        if current == fingerprint and env_python(path).exists():
            return Environment(datajoint, env_python(path), path, fingerprint, "reused")
        _create(path, base_python, datajoint, pins, say)
        marker.write_text(fingerprint + "\n")
    return Environment(datajoint, env_python(path), path, fingerprint, "created")


def given_environment(datajoint: str, location: str) -> Environment:
    """An existing environment (a venv directory or an interpreter) for ``datajoint``."""
    path = Path(location).expanduser()
    python = env_python(path) if path.is_dir() else path
    if not python.exists():
        raise ConfigurationError(
            f"--python-env {datajoint}={location}: no interpreter at {python}",
            hint="give a virtual environment directory or its python",
        )
    # The environment's contents are fingerprinted by its package list (see probe).
    return Environment(datajoint, python, path, f"given:{python}", "given")


def parse_env_overrides(items: Sequence[str], environ: dict[str, str]) -> dict[str, str]:
    """``VERSION=PATH`` pairs from ``--python-env`` and ``HARNESS_MATRIX_ENVS`` (flags win)."""
    pairs = [p for p in environ.get(ENVS_VARIABLE, "").split(",") if p.strip()] + list(items)
    result: dict[str, str] = {}
    for pair in pairs:
        version, sep, location = pair.strip().partition("=")
        if not sep or not version or not location:
            raise ConfigurationError(
                f"{pair!r} is not VERSION=PATH", hint="e.g. --python-env 0.14.10=.venvs/dj-0.14.10"
            )
        result[version] = location
    return result
