"""Fast checks of the local image recipes and of ``ensure``'s decision.

None of these needs a docker engine: the catalog and the recipe hash are
plain files, and ``decide`` is a pure function of an inventory of labels.
"""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from harness.images.build import (
    LABEL_RECIPE,
    parse_server_version,
    prune_rootfs,
    recipe_files,
    recipe_hash,
    rootfs_hash,
    rootfs_tag,
)
from harness.images.catalog import (
    IMAGES_DIR,
    RECIPES,
    Recipe,
    UnknownImageError,
    find_recipe,
    recipe_for_backend,
    select_recipes,
)
from harness.images.ensure import decide, resolve_default_image

# --------------------------------------------------------------------------- catalog


def test_catalog_names_and_tags_are_unique() -> None:
    assert len({r.name for r in RECIPES}) == len(RECIPES)
    assert len({r.tag for r in RECIPES}) == len(RECIPES)
    assert all(r.tag.startswith("element-harness/") for r in RECIPES)


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.name)
def test_recipe_dir_has_its_files(recipe: Recipe) -> None:
    assert recipe.recipe_dir.is_dir()
    present = {rel for rel, _ in recipe_files(recipe)}
    for required in recipe.files:
        assert required in present, f"{recipe.name} lacks {required}"
    dockerfile = (recipe.recipe_dir / "Dockerfile").read_text()
    assert "ARG BASE" in dockerfile and "FROM ${BASE}" in dockerfile
    assert f"EXPOSE {recipe.port}" in dockerfile
    assert "ENTRYPOINT" in dockerfile


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.name)
def test_recipe_scripts_are_executable(recipe: Recipe) -> None:
    for rel, path in recipe_files(recipe):
        if rel.endswith(".sh"):
            assert path.stat().st_mode & stat.S_IXUSR, f"{rel} of {recipe.name} is not executable"
            assert path.read_text().startswith("#!/bin/bash")


def test_every_backend_has_exactly_one_default() -> None:
    for backend in ("mysql", "mariadb", "postgresql"):
        defaults = [r for r in RECIPES if r.backend == backend and r.backend_default]
        assert len(defaults) == 1, backend


def test_official_images_stood_in_for() -> None:
    assert recipe_for_backend("mysql").official_image == "mysql:8.0"
    assert recipe_for_backend("mariadb").official_image == "mariadb:10.11"
    assert recipe_for_backend("postgres").official_image == "postgres:15"


def test_find_recipe_by_any_name() -> None:
    r = find_recipe("mariadb-11.8")
    assert find_recipe("element-harness/mariadb:11.8") == r
    assert find_recipe("mariadb:11.8") == r
    assert find_recipe("postgresql").name == "postgres-15"
    with pytest.raises(UnknownImageError):
        find_recipe("oracle")


def test_select_recipes_defaults_to_all_and_dedups() -> None:
    assert select_recipes(None) == list(RECIPES)
    assert [r.name for r in select_recipes(["mysql", "mysql-9.7", "postgres"])] == [
        "mysql-9.7",
        "postgres-15",
    ]


def test_data_dirs_match_the_official_images() -> None:
    for r in RECIPES:
        expected = "/var/lib/postgresql/data" if r.backend == "postgresql" else "/var/lib/mysql"
        assert r.data_dir == expected


# --------------------------------------------------------------------------- hashing


@pytest.fixture
def images_copy(tmp_path: Path) -> Path:
    """A private copy of compose/images, so that tests may edit recipe files."""
    dst = tmp_path / "images"
    shutil.copytree(IMAGES_DIR, dst)
    return dst


def test_recipe_hash_is_stable() -> None:
    for r in RECIPES:
        assert recipe_hash(r) == recipe_hash(r)
        assert len(recipe_hash(r)) == 64
    assert len({recipe_hash(r) for r in RECIPES}) == len(RECIPES)


def test_recipe_hash_does_not_depend_on_location(images_copy: Path) -> None:
    for r in RECIPES:
        assert recipe_hash(replace(r, root=images_copy)) == recipe_hash(r)


def test_recipe_hash_changes_with_a_recipe_file(images_copy: Path) -> None:
    r = replace(find_recipe("mariadb-10.11"), root=images_copy)
    before = recipe_hash(r)
    cnf = images_copy / "mariadb-10.11" / "element-harness.cnf"
    cnf.write_text(cnf.read_text() + "\n# changed\n")
    assert recipe_hash(r) != before
    # The rootfs stage does not depend on the scripts: it can be reused.
    assert rootfs_hash(r) == rootfs_hash(find_recipe("mariadb-10.11"))


def test_recipe_hash_changes_with_a_shared_file(images_copy: Path) -> None:
    recipes = [replace(find_recipe(n), root=images_copy) for n in ("mariadb-10.11", "mysql-9.7")]
    pg = replace(find_recipe("postgres-15"), root=images_copy)
    before = [recipe_hash(r) for r in recipes]
    before_pg = recipe_hash(pg)
    entry = images_copy / "common" / "mysql-entrypoint.sh"
    entry.write_text(entry.read_text() + "\n# changed\n")
    assert all(recipe_hash(r) != b for r, b in zip(recipes, before, strict=True))
    assert recipe_hash(pg) == before_pg


def test_recipe_hash_changes_with_file_mode(images_copy: Path) -> None:
    r = replace(find_recipe("postgres-15"), root=images_copy)
    before = recipe_hash(r)
    os.chmod(images_copy / "postgres-15" / "docker-entrypoint.sh", 0o644)
    assert recipe_hash(r) != before


def test_recipe_hash_ignores_editor_litter(images_copy: Path) -> None:
    r = replace(find_recipe("postgres-15"), root=images_copy)
    before = recipe_hash(r)
    (images_copy / "postgres-15" / "Dockerfile~").write_text("backup")
    (images_copy / "postgres-15" / "__pycache__").mkdir()
    (images_copy / "postgres-15" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert recipe_hash(r) == before


def test_packages_and_suite_change_both_hashes() -> None:
    r = find_recipe("mariadb-10.11")
    other = replace(r, suite="trixie")
    assert rootfs_hash(other) != rootfs_hash(r)
    assert recipe_hash(other) != recipe_hash(r)
    assert rootfs_hash(replace(r, packages=("mariadb-server", "less"))) != rootfs_hash(r)


def test_rootfs_tag_is_a_valid_docker_tag() -> None:
    for r in RECIPES:
        repo, tag = rootfs_tag(r).rsplit(":", 1)
        assert repo == "element-harness/rootfs"
        assert len(tag) <= 128 and tag.replace("-", "").replace(".", "").isalnum()


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("/usr/sbin/mysqld  Ver 9.7.4-2 for Linux on x86_64 ((Debian))", "9.7.4-2"),
        (
            "/usr/sbin/mariadbd  Ver 10.11.18-MariaDB-0+deb12u1 for debian-linux-gnu on x86_64",
            "10.11.18-MariaDB-0+deb12u1",
        ),
        (
            "/usr/sbin/mariadbd  Ver 11.8.9-MariaDB-0+deb13u1 from Debian for debian-linux-gnu",
            "11.8.9-MariaDB-0+deb13u1 from Debian",
        ),
        ("postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)", "15.14"),
        ("nonsense", None),
    ],
)
def test_parse_server_version(text: str, version: str | None) -> None:
    assert parse_server_version(text) == version


def test_prune_rootfs_does_not_follow_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    root = tmp_path / "root"
    (root / "usr/share/doc/pkg").mkdir(parents=True)
    (root / "usr/share/doc/pkg/copyright").write_text("x")
    (root / "usr/share/doc/link").symlink_to(outside)
    (root / "usr/bin").mkdir(parents=True)
    prune_rootfs(root, ["usr/share/doc/*", "does/not/exist"])
    assert list((root / "usr/share/doc").iterdir()) == []
    assert (outside / "keep").exists()
    assert (root / "usr/bin").is_dir()


# --------------------------------------------------------------------------- decide


class FakeInventory:
    """Local images as a dict of ref -> labels (a pure stand-in, no docker)."""

    def __init__(self, images: dict[str, dict[str, str]]) -> None:
        self.images = images

    def labels(self, ref: str) -> dict[str, str] | None:
        return self.images.get(ref)


MYSQL = find_recipe("mysql")


def test_decide_prefers_a_present_official_image() -> None:
    inv = FakeInventory({"mysql:8.0": {}, MYSQL.tag: {LABEL_RECIPE: "h"}})
    d = decide(MYSQL, inv, "h")
    assert d.use_official and not d.try_pull


def test_decide_pulls_then_uses_an_up_to_date_local_image() -> None:
    d = decide(MYSQL, FakeInventory({MYSQL.tag: {LABEL_RECIPE: "h"}}), "h")
    assert not d.use_official and d.try_pull and d.local_action == "up-to-date"


def test_decide_builds_when_local_image_is_missing_or_stale() -> None:
    assert decide(MYSQL, FakeInventory({}), "h").local_action == "build"
    stale = FakeInventory({MYSQL.tag: {LABEL_RECIPE: "old"}})
    assert decide(MYSQL, stale, "h").local_action == "build"
    unlabelled = FakeInventory({MYSQL.tag: {}})
    assert decide(MYSQL, unlabelled, "h").local_action == "build"


def test_decide_without_pull() -> None:
    d = decide(MYSQL, FakeInventory({}), "h", pull=False)
    assert not d.try_pull and d.local_action == "build"


def test_decide_force_rebuilds_even_with_official_present() -> None:
    inv = FakeInventory({"mysql:8.0": {}, MYSQL.tag: {LABEL_RECIPE: "h"}})
    d = decide(MYSQL, inv, "h", force=True)
    assert not d.use_official and not d.try_pull and d.local_action == "build"


def test_resolve_default_image() -> None:
    both = FakeInventory({"postgres:15": {}, "element-harness/postgres:15": {}})
    assert resolve_default_image("postgresql", both) == "postgres:15"
    local = FakeInventory({"element-harness/postgres:15": {LABEL_RECIPE: "any"}})
    assert resolve_default_image("postgres", local) == "element-harness/postgres:15"
    assert resolve_default_image("mariadb", FakeInventory({})) is None
