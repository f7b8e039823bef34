"""Where an Element's source is, and whether ``--write`` may change it.

The target is resolved (and installed) as ``harness check`` does it
(:func:`harness.session.prepare_targets`); the package directory then
comes from the target's import path, or from the import system for an
installed package. Writing is for a maintainer's own tree: a package under
site-packages (or one a spec installs) belongs to pip, and an edit there would
vanish at the next install while making the environment lie about the release.
"""

from __future__ import annotations

import importlib.util
import site
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from harness.elements.targets import Target
from harness.errors import ConfigurationError


@dataclass(frozen=True)
class ElementSource:
    """The package directory of a target and why it may not be written, if it may not."""

    target: Target
    package_dir: Path
    read_only: str | None  # the reason --write refuses; None for a source tree


def _installed_dirs() -> list[Path]:
    """Every directory pip installs packages into, for this interpreter and the user."""
    paths = {sysconfig.get_paths().get(name) for name in ("purelib", "platlib")}
    paths.update(site.getsitepackages())
    paths.add(site.getusersitepackages())
    return [Path(path).resolve() for path in paths if path]


def _inside(path: Path, directories: list[Path]) -> bool:
    return any(path == directory or directory in path.parents for directory in directories)


def locate_source(target: Target) -> ElementSource:
    """The source of a resolved (and, for a spec, installed) target."""
    package_dir = _package_dir(target)
    resolved = package_dir.resolve()
    read_only = None
    if target.spec is not None and target.spec.install is not None:
        read_only = (
            f"{target.name} is installed by its spec into {resolved.parent}: "
            "that copy belongs to pip"
        )
    elif _inside(resolved, _installed_dirs()) or {"site-packages", "dist-packages"} & set(
        resolved.parts
    ):
        read_only = f"{resolved} is an installed package (site-packages)"
    return ElementSource(target=target, package_dir=resolved, read_only=read_only)


def _package_dir(target: Target) -> Path:
    for directory in target.sys_path:
        candidate = directory / target.package
        if (candidate / "__init__.py").is_file():
            return candidate
    try:
        spec = importlib.util.find_spec(target.package)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        hint = (
            "run `harness check` once (it installs what the spec names), or pip install it"
            if target.spec is not None and target.spec.install is not None
            else f"pip install {target.name}, or give the Element's source directory"
        )
        raise ConfigurationError(
            f"cannot find the source of {target.name}: package {target.package} is not "
            "installed here",
            hint=hint,
        )
    return Path(locations[0])
