"""Local database images built from Debian packages (no registry needed).

See ``compose/README.md``.  Entry points: :func:`ensure` (provide an image per
backend), :func:`resolve_default_image` (pick one without building) and the
``harness images`` CLI in :mod:`harness.images.commands`.
"""

from harness.images.build import BuildResult, ImageBuildError, build_image, build_images
from harness.images.catalog import RECIPES, Recipe, find_recipe, select_recipes
from harness.images.ensure import EnsureResult, ensure, resolve_default_image

__all__ = [
    "RECIPES",
    "BuildResult",
    "EnsureResult",
    "ImageBuildError",
    "Recipe",
    "build_image",
    "build_images",
    "ensure",
    "find_recipe",
    "resolve_default_image",
    "select_recipes",
]
