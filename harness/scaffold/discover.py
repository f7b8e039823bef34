"""Which packages of a repository are Elements: they hold a deferred schema.

The same AST reading the check uses (:func:`harness.activation.discovery.package_sources`),
so nothing of the repository is imported here: a package counts when one of its
modules assigns ``schema = dj.Schema()`` (or ``dj.schema()``) with no name. Packages
are looked for at the repository's top level and, in the ``src/`` layout, under ``src/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.activation.discovery import package_sources

#: Top-level directories that are never the Element itself.
_NOT_PACKAGES = frozenset({"tests", "test", "docs", "doc", "build", "dist", "site-packages"})


@dataclass(frozen=True)
class ElementPackage:
    """A package of the repository with at least one deferred schema."""

    name: str
    directory: Path
    #: Modules holding a deferred schema, e.g. ``("element_lab.lab",)``.
    schema_modules: tuple[str, ...]
    #: The check target relative to the repository, as written in ``[tool.harness]``.
    target: str


def _candidate_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return [
        child
        for child in sorted(root.iterdir())
        if child.is_dir()
        and not child.name.startswith((".", "_"))
        and child.name not in _NOT_PACKAGES
        and child.name.isidentifier()
        and (child / "__init__.py").is_file()
    ]


def find_element_packages(repo: Path) -> list[ElementPackage]:
    """Every package under ``repo`` (top level, then ``src/``) that holds a deferred schema."""
    found = []
    for directory in [*_candidate_dirs(repo), *_candidate_dirs(repo / "src")]:
        sources = package_sources(directory.name, [str(directory)])
        modules = tuple(source.name for source in sources if source.deferred_schemas)
        if modules:
            relative = directory.relative_to(repo).as_posix()
            found.append(ElementPackage(directory.name, directory, modules, f"./{relative}"))
    return found
