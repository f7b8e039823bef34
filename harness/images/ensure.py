"""Make sure a usable image exists for each backend the harness will test.

Order of preference, and why:

1. the official image (``mysql:8.0``, ``mariadb:10.11``, ``postgres:15``) if
   it is already present locally: it is the reference the recipes imitate;
2. ``docker pull`` of the official image, with a short timeout: on machines
   with a registry this is the quickest way to the reference (here it fails
   at once: there is no registry);
3. the local recipe, built from Debian packages unless an image with the same
   ``element-harness.recipe`` label already exists ("up-to-date").

The decision is a pure function (:func:`decide`) of an :class:`Inventory`,
so it is tested without a docker engine; :func:`ensure` carries it out.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from harness.images.build import (
    LABEL_RECIPE,
    ImageBuildError,
    Progress,
    build_image,
    recipe_hash,
)
from harness.images.catalog import Recipe, find_recipe, select_recipes

Status = Literal["present", "pulled", "built", "up-to-date", "failed"]

#: A pull from a reachable registry starts streaming within seconds; one that
#: cannot reach it fails at DNS.  Either way, do not wait long.
PULL_TIMEOUT = 20.0


class Inventory(Protocol):
    """What :func:`decide` needs to know about the local images."""

    def labels(self, ref: str) -> dict[str, str] | None:
        """The labels of a local image, or None when there is no such image."""
        ...


@dataclass(frozen=True)
class Decision:
    """What to do for one recipe, before any pull or build is attempted."""

    recipe: Recipe
    #: The official image is present locally: use it, nothing else to do.
    use_official: bool
    #: Try ``docker pull`` of the official image first.
    try_pull: bool
    #: If the pull is skipped or fails: "up-to-date" (use the local tag) or "build".
    local_action: Literal["up-to-date", "build"]


@dataclass(frozen=True)
class EnsureResult:
    """The outcome for one recipe: what was done and which image to run."""

    recipe: str
    status: Status
    image: str | None
    detail: str = ""


def decide(
    recipe: Recipe,
    inventory: Inventory,
    expected_hash: str,
    *,
    force: bool = False,
    pull: bool = True,
) -> Decision:
    """Decide, from the local images alone, how to provide ``recipe``.

    ``force`` means "rebuild the local recipe": it skips the official image
    and the pull, because asking for a rebuild while an official image is
    present would otherwise do nothing.
    """
    if force:
        return Decision(recipe, use_official=False, try_pull=False, local_action="build")
    if inventory.labels(recipe.official_image) is not None:
        return Decision(recipe, use_official=True, try_pull=False, local_action="up-to-date")
    local = inventory.labels(recipe.tag)
    up_to_date = local is not None and local.get(LABEL_RECIPE) == expected_hash
    return Decision(
        recipe,
        use_official=False,
        try_pull=pull,
        local_action="up-to-date" if up_to_date else "build",
    )


class DockerInventory:
    """:class:`Inventory` over a docker SDK client."""

    def __init__(self, client: Any | None = None) -> None:
        import docker

        self.client = client if client is not None else docker.from_env()

    def labels(self, ref: str) -> dict[str, str] | None:
        import docker

        try:
            image = self.client.images.get(ref)
        except docker.errors.ImageNotFound:
            return None
        return dict(image.labels or {})


def pull_image(ref: str, timeout: float = PULL_TIMEOUT) -> tuple[bool, str]:
    """``docker pull`` with a timeout; returns (ok, last line of output).

    The CLI rather than the SDK: the SDK's pull blocks on the whole download
    with no overall deadline.
    """
    try:
        proc = subprocess.run(
            ["docker", "pull", "--quiet", ref],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, f"docker pull {ref}: no answer within {timeout:.0f} s"
    except OSError as exc:
        return False, f"docker pull {ref}: {exc}"
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    return proc.returncode == 0, lines[-1] if lines else ""


def _recipes_for(names: Iterable[str] | None) -> list[Recipe]:
    return select_recipes(list(names) if names is not None else None)


def ensure(
    names: Iterable[str] | None = None,
    *,
    force: bool = False,
    pull: bool = True,
    pull_timeout: float = PULL_TIMEOUT,
    jobs: int = 2,
    raise_on_error: bool = True,
    inventory: Inventory | None = None,
    progress: Progress | None = None,
) -> list[EnsureResult]:
    """Provide an image for each name (backend, recipe name, local tag or official image).

    Returns one :class:`EnsureResult` per recipe, in order; ``image`` is the
    tag the harness should run.  Builds run ``jobs`` at a time.  With
    ``raise_on_error`` a failed build raises :class:`ImageBuildError` (after
    the other builds have finished); otherwise it is reported as "failed".
    """
    recipes = _recipes_for(names)
    inv = inventory if inventory is not None else DockerInventory()

    def one(recipe: Recipe) -> EnsureResult | ImageBuildError:
        decision = decide(recipe, inv, recipe_hash(recipe), force=force, pull=pull)
        if decision.use_official:
            return EnsureResult(recipe.name, "present", recipe.official_image)
        pull_note = ""
        if decision.try_pull:
            ok, message = pull_image(recipe.official_image, pull_timeout)
            if ok:
                return EnsureResult(recipe.name, "pulled", recipe.official_image)
            pull_note = f"pull failed: {message}; "
        if decision.local_action == "up-to-date":
            return EnsureResult(recipe.name, "up-to-date", recipe.tag, pull_note.rstrip("; "))
        try:
            result = build_image(recipe, force=force, progress=progress)
        except ImageBuildError as exc:
            return exc
        detail = f"{pull_note}built in {result.seconds:.0f} s ({result.server_version})"
        return EnsureResult(recipe.name, "built", recipe.tag, detail)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        outcomes = list(pool.map(one, recipes))
    errors = [o for o in outcomes if isinstance(o, ImageBuildError)]
    if errors and raise_on_error:
        raise (
            errors[0]
            if len(errors) == 1
            else ImageBuildError(
                ", ".join(e.image for e in errors), "build", "\n".join(str(e) for e in errors)
            )
        )
    return [
        EnsureResult(o.image, "failed", None, str(o)) if isinstance(o, ImageBuildError) else o
        for o in outcomes
    ]


def resolve_default_image(backend: str, inventory: Inventory | None = None) -> str | None:
    """The image a harness run uses for ``backend`` when no image option is given.

    The official image if it is present locally, else the local recipe's tag
    if that was built, else None (the caller should then say to run
    ``harness images ensure``).  Never pulls or builds: choosing an image
    must be instant.
    """
    recipe = find_recipe(backend)
    inv = inventory if inventory is not None else DockerInventory()
    for ref in (recipe.official_image, recipe.tag):
        if inv.labels(ref) is not None:
            return ref
    return None


__all__ = [
    "Decision",
    "DockerInventory",
    "EnsureResult",
    "Inventory",
    "decide",
    "ensure",
    "pull_image",
    "resolve_default_image",
]
