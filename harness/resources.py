"""Where the files the harness ships beside its code are found.

Element specs, reviewed manifests, pipeline specs and the database image
recipes are data, not code, but a harness installed from a wheel needs them as
much as one run from its source tree. The build copies them into the package
(``harness/_data/``, see ``setup.py``); in a source checkout or an editable
install they are read where they are edited, at the repository's top level.
This module is the only place that knows either layout.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

#: The repository directories shipped in the wheel, by their path in the source tree.
SHIPPED = ("elements", "compose/images")


def package_dir() -> Path:
    """The directory of the ``harness`` package itself (its code, and ``_data`` in a wheel)."""
    # A wheel installs into a plain directory, so the traversable is a real path.
    return Path(str(importlib.resources.files("harness"))).resolve()


def _packaged(relative: str) -> Path | None:
    path = package_dir() / "_data" / relative
    return path if path.is_dir() else None


def source_root() -> Path | None:
    """The source tree the harness runs from (a checkout or an editable install), if any."""
    root = package_dir().parent
    is_tree = (root / "pyproject.toml").is_file() and (root / "elements").is_dir()
    return root if is_tree else None


def shipped_dir(relative: str) -> Path:
    """The directory ``relative`` (one of :data:`SHIPPED`, or below one): packaged copy first."""
    packaged = _packaged(relative)
    if packaged is not None:
        return packaged
    root = source_root()
    if root is not None:
        return root / relative
    # Neither layout: name the packaged location, so errors point where files belong.
    return package_dir() / "_data" / relative


def shown_path(path: Path) -> str:
    """``path`` as reports show it: relative to the shipped tree (``elements/manifests/x.json``)
    when it is a shipped file, in either layout; otherwise relative to the working directory
    when below it, else as given."""
    resolved = path.resolve()
    for root in (package_dir() / "_data", source_root()):
        if root is not None and resolved.is_relative_to(root):
            relative = resolved.relative_to(root)
            if relative.parts and relative.parts[0] in {s.split("/")[0] for s in SHIPPED}:
                return relative.as_posix()
    try:
        return str(resolved.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def elements_dir() -> Path:
    """The bundled Element specs (``elements/*.toml``)."""
    return shipped_dir("elements")


def manifests_dir() -> Path:
    """The bundled reviewed manifests (``elements/manifests/``)."""
    return shipped_dir("elements/manifests")


def pipelines_dir() -> Path:
    """The bundled pipeline specs (``elements/pipelines/``)."""
    return shipped_dir("elements/pipelines")


def image_recipes_dir() -> Path:
    """The local image recipes and their entrypoints (``compose/images/``)."""
    return shipped_dir("compose/images")
