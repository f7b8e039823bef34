"""``harness images list|build|ensure``: the command line of the local images.

The lead wires :func:`add_images_parser` into the ``harness`` CLI; :func:`main`
runs the same parser standalone (``python -c 'from harness.images.commands
import main; main(["list"])'``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from harness.images.build import (
    LABEL_RECIPE,
    LABEL_SERVER_VERSION,
    BuildResult,
    ImageBuildError,
    build_images,
    recipe_hash,
)
from harness.images.catalog import UnknownImageError, select_recipes
from harness.images.ensure import PULL_TIMEOUT, ensure


def add_images_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``images`` command (with list/build/ensure) to a subparsers object."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "images",
        help="list, build or ensure the local database images",
        description=(
            "Database images built locally from Debian packages, standing in for the "
            "official mysql/mariadb/postgres images where no registry is reachable."
        ),
    )
    actions = parser.add_subparsers(dest="images_command", metavar="{list,build,ensure}")
    actions.required = True
    names_help = "recipe names, tags or backends (mysql, mariadb, postgresql); default: all"

    p_list = actions.add_parser("list", help="table of recipes, whether built, version, size")
    p_list.add_argument("names", nargs="*", help=names_help)

    p_build = actions.add_parser("build", help="build the local recipes")
    p_build.add_argument("names", nargs="*", help=names_help)
    p_build.add_argument(
        "--force", action="store_true", help="rebuild even if up to date (rootfs too)"
    )
    p_build.add_argument("--jobs", type=int, default=2, help="builds in parallel (default 2)")

    p_ensure = actions.add_parser(
        "ensure", help="use the official image if present/pullable, else build if needed"
    )
    p_ensure.add_argument("names", nargs="*", help=names_help)
    p_ensure.add_argument(
        "--force", action="store_true", help="rebuild the local recipes regardless"
    )
    p_ensure.add_argument("--jobs", type=int, default=2, help="builds in parallel (default 2)")
    p_ensure.add_argument(
        "--no-pull", dest="pull", action="store_false", help="do not try docker pull"
    )
    p_ensure.add_argument(
        "--pull-timeout", type=float, default=PULL_TIMEOUT, help="seconds (default %(default)s)"
    )
    parser.set_defaults(func=run_images)
    return parser


def run_images(args: argparse.Namespace) -> int:
    """Run a parsed ``images`` command; returns the process exit status."""
    try:
        recipes = select_recipes(args.names)
    except UnknownImageError as exc:
        print(f"harness images: {exc}", file=sys.stderr)
        return 2
    if args.images_command == "list":
        return _list(recipes)
    if args.images_command == "build":
        results = build_images(recipes, jobs=args.jobs, force=args.force)
        return _report_builds(results)
    outcomes = ensure(
        [r.name for r in recipes],
        force=args.force,
        pull=args.pull,
        pull_timeout=args.pull_timeout,
        jobs=args.jobs,
        raise_on_error=False,
    )
    _print_table(
        ["RECIPE", "STATUS", "IMAGE", "DETAIL"],
        [
            [o.recipe, o.status, o.image or "-", o.detail.splitlines()[0] if o.detail else ""]
            for o in outcomes
        ],
    )
    failed = [o for o in outcomes if o.status == "failed"]
    for o in failed:
        print(f"\n{o.detail}", file=sys.stderr)
    return 1 if failed else 0


def _list(recipes: Sequence[Any]) -> int:
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        print(f"harness images: docker engine not reachable: {exc}", file=sys.stderr)
        return 1
    rows = []
    for recipe in recipes:
        try:
            image = client.images.get(recipe.tag)
        except docker.errors.ImageNotFound:
            image = None
        labels = dict(image.labels or {}) if image is not None else {}
        if image is None:
            built = "no"
        elif labels.get(LABEL_RECIPE) == recipe_hash(recipe):
            built = "yes"
        else:
            built = "stale"
        try:
            client.images.get(recipe.official_image)
            official = f"{recipe.official_image} (present)"
        except docker.errors.ImageNotFound:
            official = recipe.official_image
        rows.append(
            [
                recipe.name,
                recipe.tag,
                built,
                labels.get(LABEL_SERVER_VERSION, "-") if image is not None else "-",
                _size(int(image.attrs.get("Size", 0))) if image is not None else "-",
                official,
            ]
        )
    _print_table(["RECIPE", "TAG", "BUILT", "SERVER VERSION", "SIZE", "STANDS IN FOR"], rows)
    return 0


def _report_builds(results: Sequence[BuildResult | ImageBuildError]) -> int:
    rows = []
    for r in results:
        if isinstance(r, ImageBuildError):
            rows.append([r.image, "FAILED", "-", "-", "-", r.step])
        else:
            steps = ", ".join(f"{k} {v:.0f}s" for k, v in r.step_seconds.items())
            rows.append(
                [
                    r.recipe,
                    r.tag,
                    r.server_version,
                    _size(r.size_bytes),
                    f"{r.seconds:.0f} s",
                    steps,
                ]
            )
    _print_table(["RECIPE", "TAG", "SERVER VERSION", "SIZE", "TIME", "STEPS"], rows)
    failures = [r for r in results if isinstance(r, ImageBuildError)]
    for err in failures:
        print(f"\n{err}", file=sys.stderr)
    return 1 if failures else 0


def _size(n: int) -> str:
    return f"{n / 1e6:.0f} MB"


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
    for row in [header, *rows]:
        print("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)).rstrip())


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point: ``main(["build", "mysql"])``."""
    parser = argparse.ArgumentParser(prog="harness")
    subparsers = parser.add_subparsers(dest="command", metavar="images")
    subparsers.required = True
    add_images_parser(subparsers)
    args = parser.parse_args(list(argv) if argv is not None else None)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
