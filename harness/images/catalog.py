"""The recipes of the locally built database images.

No container registry is reachable on the project's machines, so every
database server the harness tests against is built here from Debian packages
(see ``compose/README.md``).  Each recipe is the stand-in for one official
Docker Hub image and must behave like it (same environment variables, port and
data directory), so that the harness drives either without knowing which one
it got.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from harness import resources
from harness.db.backends import BACKENDS, canonical_name

#: Where the recipe directories live: ``HARNESS_IMAGES_DIR`` (a user's own recipes, or
#: edited copies), else the recipes shipped with the harness (see :mod:`harness.resources`).
IMAGES_DIR = Path(os.environ.get("HARNESS_IMAGES_DIR") or resources.image_recipes_dir())

#: Rootfs paths (relative, globs allowed) removed before ``docker import`` in
#: every recipe: documentation, translations and apt's caches are not needed
#: by a database server and make up a third of a minbase rootfs.
COMMON_PRUNE: tuple[str, ...] = (
    "usr/share/doc/*",
    "usr/share/man/*",
    "usr/share/info/*",
    "usr/share/locale/*",
    "usr/share/lintian",
    "var/cache/apt/*",
    "var/cache/debconf/*-old",
    "var/lib/apt/lists/*",
    "var/log/*",
)

#: Files every recipe directory must contain.
REQUIRED_FILES: tuple[str, ...] = ("Dockerfile",)


@dataclass(frozen=True)
class Recipe:
    """One locally built image and the official image it stands in for."""

    name: str
    tag: str
    #: The canonical name of its backend (:data:`harness.db.backends.BACKENDS`).
    backend: str
    suite: str
    packages: tuple[str, ...]
    official_image: str
    port: int
    data_dir: str
    #: Server binary inside the rootfs, run with ``--version`` at build time to
    #: label the image with the exact server version.
    server_binary: str
    #: Recipe-specific rootfs paths removed before import (in addition to
    #: :data:`COMMON_PRUNE`), e.g. the data directory a package's postinst made.
    prune: tuple[str, ...] = ()
    #: Directories of ``root`` shared between recipes, copied into the build
    #: context under their own name (``common/`` ...).
    shared: tuple[str, ...] = ()
    #: Files (relative to the recipe dir or a shared dir) the recipe must have.
    files: tuple[str, ...] = REQUIRED_FILES
    #: The recipe used when only a backend is named.
    backend_default: bool = False
    root: Path = field(default=IMAGES_DIR, compare=False)

    @property
    def recipe_dir(self) -> Path:
        """The build context's main directory (holds the Dockerfile)."""
        return self.root / self.name

    @property
    def shared_dirs(self) -> tuple[Path, ...]:
        """Shared directories that are part of this recipe."""
        return tuple(self.root / s for s in self.shared)


_MYSQL_FILES = (
    "Dockerfile",
    "element-harness.cnf",
    "common/mysql-entrypoint.sh",
    "common/mysql-init-seed.sh",
)

RECIPES: tuple[Recipe, ...] = (
    Recipe(
        name="mysql-9.7",
        tag="element-harness/mysql:9.7",
        backend="mysql",
        suite="sid",
        packages=("mysql-server",),
        # Debian carries no MySQL 8.0/8.4: 9.7 from sid is the only real MySQL.
        official_image="mysql:8.0",
        port=3306,
        data_dir="/var/lib/mysql",
        server_binary="/usr/sbin/mysqld",
        prune=("var/lib/mysql/*",),
        shared=("common",),
        files=_MYSQL_FILES,
        backend_default=True,
    ),
    Recipe(
        name="mariadb-10.11",
        tag="element-harness/mariadb:10.11",
        backend="mariadb",
        suite="bookworm",
        packages=("mariadb-server",),
        official_image="mariadb:10.11",
        port=3306,
        data_dir="/var/lib/mysql",
        server_binary="/usr/sbin/mariadbd",
        prune=("var/lib/mysql/*",),
        shared=("common",),
        files=_MYSQL_FILES,
        backend_default=True,
    ),
    Recipe(
        name="mariadb-11.8",
        tag="element-harness/mariadb:11.8",
        backend="mariadb",
        suite="trixie",
        packages=("mariadb-server",),
        official_image="mariadb:11.8",
        port=3306,
        data_dir="/var/lib/mysql",
        server_binary="/usr/sbin/mariadbd",
        prune=("var/lib/mysql/*",),
        shared=("common",),
        files=_MYSQL_FILES,
    ),
    Recipe(
        name="postgres-15",
        tag="element-harness/postgres:15",
        backend="postgresql",
        suite="bookworm",
        packages=("postgresql-15",),
        official_image="postgres:15",
        port=5432,
        data_dir="/var/lib/postgresql/data",
        server_binary="/usr/lib/postgresql/15/bin/postgres",
        # The postinst's pg_createcluster made a SQL_ASCII cluster "main".
        prune=("var/lib/postgresql/15", "etc/postgresql/15"),
        files=("Dockerfile", "docker-entrypoint.sh", "init-seed.sh"),
        backend_default=True,
    ),
)


class UnknownImageError(LookupError):
    """A name that is no recipe, backend, tag or official image."""


def recipe_for_backend(backend: str) -> Recipe:
    """The default recipe of a backend (aliases such as ``postgres`` accepted)."""
    canonical = canonical_name(backend)
    for recipe in RECIPES:
        if recipe.backend == canonical and recipe.backend_default:
            return recipe
    known = ", ".join(sorted(BACKENDS))
    raise UnknownImageError(f"unknown backend {backend!r} (known: {known})")


def find_recipe(name: str) -> Recipe:
    """Look a recipe up by recipe name, local tag, official image or backend.

    Accepting all four lets the CLI and ``ensure`` take whatever the caller
    has at hand (``mariadb-11.8``, ``element-harness/mariadb:11.8``,
    ``mariadb:11.8`` or just ``mariadb``).
    """
    for recipe in RECIPES:
        if name in (recipe.name, recipe.tag, recipe.official_image):
            return recipe
    if canonical_name(name) is not None:
        return recipe_for_backend(name)
    known = ", ".join(r.name for r in RECIPES)
    raise UnknownImageError(f"unknown image {name!r} (recipes: {known}; or a backend name)")


def select_recipes(names: list[str] | tuple[str, ...] | None) -> list[Recipe]:
    """Recipes for the given names (all when empty), in order, without duplicates."""
    if not names:
        return list(RECIPES)
    selected: list[Recipe] = []
    for name in names:
        recipe = find_recipe(name)
        if recipe not in selected:
            selected.append(recipe)
    return selected
