"""What a user can ask to check, resolved to one shape.

A target is a spec name (``element-lab``, from ``elements/``), a spec file
path, an installed package (``element_session``), one module
(``element_session.session_with_id``), a source directory of an Element, or a
lab's own pipeline module (``workflow_lab/pipeline.py``, see :mod:`harness.workflow`).
Whatever the form, the engine receives a :class:`Target`: the import package,
the modules to activate, where to import from, and the spec's overrides.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigurationError


@dataclass(frozen=True)
class Target:
    """A resolved check target."""

    text: str
    name: str
    package: str
    version: str | None = None
    modules: tuple[str, ...] = ()
    sys_path: tuple[Path, ...] = ()
    exclude: tuple[str, ...] = ()
    stubs: tuple[str, ...] = ()
    timeout: float | None = None
    mock_tables: Mapping[str, str] = field(default_factory=dict)
    mock_functions: tuple[str, ...] = ()
    upstream: Mapping[str, str] = field(default_factory=dict)
    activations: tuple[Any, ...] = ()
    spec: Any = None
    #: A lab's pipeline module (a ``.py`` file that activates Elements at import);
    #: ``package`` is its top-level package, ``modules`` its dotted name.
    pipeline: Path | None = None


def pipeline_module_target(text: str, path: Path) -> Target:
    """``workflow_lab/pipeline.py``: imported as ``workflow_lab.pipeline`` from the package's
    parent directory (a file outside a package: as itself, from its directory)."""
    path = path.resolve()
    parts = [path.stem]
    directory = path.parent
    while (directory / "__init__.py").is_file():
        parts.insert(0, directory.name)
        directory = directory.parent
    name = ".".join(parts)
    return Target(
        text=text,
        name=name,
        package=parts[0],
        modules=(name,),
        sys_path=(directory,),
        pipeline=path,
    )


def _package_dir_target(text: str, directory: Path) -> Target:
    """A directory that is a package, or a source tree holding exactly one package."""
    if (directory / "__init__.py").is_file():
        return Target(
            text=text,
            name=directory.name,
            package=directory.name,
            sys_path=(directory.parent.resolve(),),
        )
    candidates = sorted(
        child
        for child in directory.iterdir()
        if (child / "__init__.py").is_file() and child.name not in {"tests", "test", "docs"}
    )
    src = directory / "src"
    if not candidates and src.is_dir():
        return _package_dir_target(text, src)
    preferred = [child for child in candidates if child.name.startswith("element_")]
    chosen = preferred or candidates
    if len(chosen) != 1:
        names = ", ".join(child.name for child in candidates) or "none"
        raise ConfigurationError(
            f"cannot tell which package of directory {directory} to check "
            f"(packages found: {names})",
            hint="give the package directory itself as the target",
        )
    package = chosen[0]
    return Target(
        text=text, name=package.name, package=package.name, sys_path=(package.parent.resolve(),)
    )


def target_from_spec(text: str, spec: Any) -> Target:
    """A target carrying a spec's package and overrides."""
    sys_path: tuple[Path, ...] = ()
    # Sample Elements live beside their spec and are imported from there.
    if (
        spec.path is not None
        and spec.install is None
        and (spec.path.parent / spec.package / "__init__.py").is_file()
    ):
        sys_path = (spec.path.parent.resolve(),)
    return Target(
        text=text,
        name=spec.name,
        package=spec.package,
        version=spec.version,
        modules=tuple(spec.modules),
        sys_path=sys_path,
        exclude=tuple(spec.exclude),
        stubs=tuple(spec.stubs),
        timeout=spec.timeout,
        mock_tables=dict(spec.mock_tables),
        mock_functions=tuple(spec.mock_functions),
        upstream=dict(spec.upstream),
        activations=tuple(spec.activations),
        spec=spec,
    )


def distribution_name(package: str) -> str:
    """``element_lab`` -> ``element-lab``: the name releases (and manifests) go by."""
    from importlib import metadata

    names = metadata.packages_distributions().get(package) or [package]
    return names[0]


def resolve_target(text: str) -> Target:
    """Resolve what the user typed; :class:`ConfigurationError` says what was tried."""
    path = Path(text)
    if path.is_dir() and (("/" in text) or text.startswith(".")):
        return _package_dir_target(text, path)
    if text.endswith(".py"):
        if not path.is_file():
            raise ConfigurationError(
                f"pipeline module {text} does not exist",
                hint="give the path of the lab's pipeline.py (a module that activates "
                "its Elements when imported)",
            )
        return pipeline_module_target(text, path)
    from harness.elements.spec import find_spec, load_spec

    if text.endswith(".toml"):
        if not path.is_file():
            raise ConfigurationError(
                f"spec file {text} does not exist",
                hint="check the path, or give a spec name (`harness check --list` shows them)",
            )
        return target_from_spec(text, load_spec(path))
    spec_path = find_spec(text)
    if spec_path is not None:
        return target_from_spec(text, load_spec(spec_path))
    module = text.replace("-", "_")
    package = module.split(".")[0]
    try:
        found = importlib.util.find_spec(package) is not None
    except (ImportError, ValueError):
        found = False
    if found:
        modules = (module,) if "." in module else ()
        return Target(text=text, name=distribution_name(package), package=package, modules=modules)
    if path.is_dir():
        return _package_dir_target(text, path)
    raise ConfigurationError(
        f"unknown target {text!r}: not a spec under elements/, not an installed package "
        "or module, and not a directory",
        hint="run `harness check --list` to see the known specs, or pip install the Element",
    )
