"""What each side of a release check is checked as: the spec, as far as it fits that release.

A spec is written for one release (its ``version``). Its ``[check] modules`` list
names that release's modules, so it applies only there; any other release is
checked with its own modules discovered, as ``harness check`` would find them in
a package without a spec. A module the spec names but a release lacks is not
an error: it is left out, with a note. The rest of the spec says how to check
rather than what a release holds, and applies to every side: stubs only stand
in for packages that are not installed, ``exclude`` only keeps modules from
being imported, and ``[[activate]]`` overrides are kept for the modules a
release has.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from harness.elements.targets import Target, target_from_spec


def module_exists(root: Path, module: str) -> bool:
    """Whether ``a.b.c`` is a module of the tree under ``root`` (``a/b/c.py`` or a package)."""
    path = root.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def same_version(a: str | None, b: str | None) -> bool:
    """``0.2.3`` and ``v0.2.3`` (and ``0.2.3.0``) are one release."""
    if a is None or b is None:
        return False
    try:
        from packaging.version import InvalidVersion, Version
    except ImportError:  # pragma: no cover - packaging ships with pip
        return a.lstrip("v") == b.lstrip("v")
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a.lstrip("v") == b.lstrip("v")


def side_target(
    name: str, package: str, spec: Any, version: str | None, root: Path
) -> tuple[Target, list[str]]:
    """The target for the release under ``root`` (of ``version``), and notes on what changed."""
    if spec is None:
        target = Target(text=name, name=name, package=package, version=version, sys_path=(root,))
        return target, []
    notes: list[str] = []
    written_for = spec.version
    applies = written_for is None or same_version(written_for, version)
    present = [module for module in spec.modules if module_exists(root, module)]
    for module in spec.modules:
        if module not in present:
            owner = f" (written for {written_for})" if written_for else ""
            notes.append(
                f"{module}, named by the spec{owner}, is not a module of this release: skipped"
            )
    modules = tuple(present) if applies else ()
    if spec.modules and not applies:
        notes.append(
            f"the spec's module list is for {written_for}, not {version or 'this release'}: "
            "this release's modules are discovered"
        )
    elif spec.modules and not modules:
        notes.append("no module of the spec's list is in this release: its modules are discovered")
    activations = []
    for override in spec.activations:
        if not module_exists(root, override.module):
            continue
        covers = tuple(module for module in override.covers if module_exists(root, module))
        activations.append(dataclasses.replace(override, covers=covers))
    target = dataclasses.replace(
        target_from_spec(name, spec),
        version=version,
        modules=modules,
        sys_path=(root,),
        activations=tuple(activations),
    )
    return target, notes
