"""``harness release-check ELEMENT --from OLD --to NEW``: the command line and its flow.

Both sides are made importable (:mod:`~harness.release.sides`), one server is
started for the two of them (the ``--db``/``--image``/``--external`` options of
``harness check``), each side is checked in its own child interpreter
(:mod:`~harness.release.check`), and the two manifests are diffed and
classified (:mod:`~harness.release.classify`). With ``--from-datajoint`` /
``--to-datajoint`` each side's child runs in an environment of that DataJoint
version (:mod:`~harness.release.interpreters`), and the verdict says whether a
database declared by OLD carries over to NEW. Exit status: 0 no breaking change
(or ``--allow-breaking``), 1 breaking changes or a side fails its check, 2 usage
or environment error.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness.errors import ConfigurationError

#: Options of :mod:`harness.settings` that a release check passes on to each side's check.
#: ``manifest_dir`` and ``update_manifests`` do not make the sides compare with reviewed
#: manifests (they are compared with each other); together they write each side's manifest.
_CHECK_OPTIONS = ("timeout", "stub_missing", "manifest_dir", "update_manifests")


def _add_check_options(parser: argparse.ArgumentParser) -> None:
    from harness.settings import OPTIONS_BY_NAME

    group = parser.add_argument_group("check", "how each side is checked")
    for name in _CHECK_OPTIONS:
        option = OPTIONS_BY_NAME[name]
        help_text = f"{option.help} [env {option.env_var}]"
        if option.kind == "bool":
            group.add_argument(
                option.cli_flag, action="store_const", const=True, default=None, help=help_text
            )
        else:
            group.add_argument(
                option.cli_flag,
                type=option.parse,
                default=None,
                metavar=option.metavar,
                help=help_text,
            )


def add_release_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``release-check`` to the ``harness`` subcommands."""
    from harness.cli import add_options

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "release-check",
        help="classify the schema changes between two releases of an Element",
        description="Check two releases of ELEMENT (versions from the package index, source "
        "directories such as `.`, or git refs of --repo), each importing only its own code "
        "(and, with --from-datajoint/--to-datajoint, each under its own DataJoint version), "
        "diff what they declare and classify each change as breaking, data-dependent or "
        "additive (between DataJoint lines also: a migration step). Exit status 0: no "
        "breaking change (or --allow-breaking), 1: breaking changes or a release fails its "
        "check, 2: usage or environment error. See docs/release-rules.md.",
    )
    parser.add_argument("element", metavar="ELEMENT", help="spec name or package")
    parser.add_argument("--from", dest="old", required=True, metavar="OLD")
    parser.add_argument("--to", dest="new", required=True, metavar="NEW")
    parser.add_argument("--repo", metavar="PATH", help="OLD and NEW are git refs of this repo")
    parser.add_argument(
        "--from-datajoint",
        metavar="VERSION",
        help="check OLD under this DataJoint version, in an environment of its own "
        "(default: this interpreter's DataJoint)",
    )
    parser.add_argument(
        "--to-datajoint", metavar="VERSION", help="check NEW under this DataJoint version"
    )
    parser.add_argument(
        "--python-env",
        action="append",
        default=[],
        metavar="VERSION=PATH",
        help="use this environment for a DataJoint version instead of creating one "
        "(repeatable; also HARNESS_MATRIX_ENVS)",
    )
    parser.add_argument("--allow-breaking", action="store_true", help="exit 0 on breaking changes")
    parser.add_argument("--markdown", metavar="PATH", help="also write the section here")
    parser.add_argument("--json", metavar="PATH", help="write both sides and every change here")
    parser.add_argument("--index-url", metavar="URL", help="pip's index for versions")
    parser.add_argument(
        "--find-links",
        action="append",
        default=[],
        metavar="DIR_OR_URL",
        help="also look for versions here (pip --find-links; repeatable)",
    )
    add_options(parser, ("server",))
    _add_check_options(parser)
    parser.set_defaults(handler=run_release)
    return parser


def _say(text: str) -> None:
    print(f"release-check: {text}", file=sys.stderr)


def run_release(args: argparse.Namespace) -> int:
    """Run the ``release-check`` command parsed by :func:`add_release_parser`."""
    from harness.activation import compat
    from harness.cli import settings_from_args
    from harness.db.provider import provide_server
    from harness.manifest import diff_manifests
    from harness.release.check import check_side, describe_failure, stop_all
    from harness.release.classify import BREAKING, MIGRATION, VERDICTS, classify
    from harness.release.crossversion import crosses_lines
    from harness.release.interpreters import (
        environment_overrides,
        interpreter_for,
        requested_version,
    )
    from harness.release.render import carry_over, markdown, record, title, write, write_json
    from harness.release.sides import PipOptions, prepare_side, resolve_element
    from harness.runinfo import RunIdentity

    element = resolve_element(args.element)
    settings = settings_from_args(args)
    if settings.update_manifests and settings.manifest_dir is None:
        raise ConfigurationError(
            "--update-manifests needs --manifest-dir for release-check",
            hint="name the directory of reviewed manifests, e.g. --manifest-dir tests/manifests",
        )
    repo = Path(args.repo) if args.repo else None
    if repo is not None and not repo.is_dir():
        raise ConfigurationError(f"--repo {repo} is not a directory", hint="give a git checkout")
    pip = PipOptions(args.index_url, tuple(args.find_links))
    overrides = environment_overrides(args.python_env)
    wanted = (("from", args.from_datajoint), ("to", args.to_datajoint))
    if not settings.external:  # each side's DataJoint, before building or starting anything
        for role, version in wanted:
            compat.require_backend_support(settings.db, requested_version(role, version))
    interpreters = [
        interpreter_for(role, version, overrides=overrides, say=_say) for role, version in wanted
    ]
    with tempfile.TemporaryDirectory(prefix="harness-release-") as scratch_text:
        scratch = Path(scratch_text)
        sides = [
            prepare_side(role, text, element, repo=repo, scratch=scratch, pip=pip)
            for role, text in (("from", args.old), ("to", args.new))
        ]
        for side, interpreter in zip(sides, interpreters, strict=True):
            _say(
                f"{side.role} {side.label}: {side.kind}, imported from {side.root}, "
                f"DataJoint {interpreter.datajoint} ({interpreter.python})"
            )
        with (
            provide_server(settings, RunIdentity.new()) as server,
            ThreadPoolExecutor(max_workers=2) as pool,
        ):
            futures = [
                pool.submit(
                    check_side,
                    side,
                    element,
                    server,
                    timeout=settings.timeout,
                    stub_missing=settings.stub_missing,
                    scratch=scratch,
                    python=interpreter.python,
                )
                for side, interpreter in zip(sides, interpreters, strict=True)
            ]
            try:
                results = [future.result() for future in futures]
            except BaseException:  # Ctrl-C, SIGTERM, or the other side's error
                stop_all()
                raise
    for result, interpreter in zip(results, interpreters, strict=True):
        if result.datajoint not in (None, interpreter.datajoint):
            raise ConfigurationError(
                f"{result.side.label} was to be checked under DataJoint {interpreter.datajoint}, "
                f"but {interpreter.python} holds DataJoint {result.datajoint}",
                hint="point --python-env (or HARNESS_MATRIX_ENVS) at an environment of it",
            )
    environment = {
        "python": platform.python_version(),
        "datajoint": compat.version(),
        "datajoint_from": interpreters[0].datajoint,
        "datajoint_to": interpreters[1].datajoint,
        "server": server.public_dict(),
    }
    for result in results:
        for note in result.notes:
            _say(f"{result.side.label}: note: {note}")
    failed = [result for result in results if result.failed]
    if failed:
        for result in failed:
            assert result.failure is not None
            _say(f"{result.side.label} does not pass its check: {describe_failure(result.failure)}")
        if args.json:
            write_json(Path(args.json), record(element.name, results, None, environment))
        return 1
    old, new = (result.manifest or {} for result in results)
    classified = classify(diff_manifests(old, new), old, new)
    cross = crosses_lines(old, new)
    heading = title(element.name, *(result.side.label for result in results))
    if cross:
        heading += f" (DataJoint {interpreters[0].datajoint} → {interpreters[1].datajoint})"
    text = markdown(heading, classified, cross=cross)
    print(text)
    if args.markdown:
        write(Path(args.markdown), text)
    if args.json:
        write_json(Path(args.json), record(element.name, results, classified, environment))
    if settings.update_manifests:
        _write_manifests(results, settings.manifest_dir, settings.db)
    counts = {verdict: sum(item.verdict == verdict for item in classified) for verdict in VERDICTS}
    _say(
        ", ".join(
            f"{counts[verdict]} {verdict}"
            for verdict in VERDICTS
            if counts[verdict] or verdict != MIGRATION
        )
        + " change(s)"
    )
    if cross:
        _say(f"verdict: {carry_over(classified)}")
    return 1 if counts[BREAKING] and not args.allow_breaking else 0


def _write_manifests(results: Sequence[Any], manifest_dir: str | None, backend: str) -> None:
    """``--update-manifests``: each side's manifest into ``--manifest-dir``, named by release."""
    from harness.manifest import manifest_path, write_manifest

    assert manifest_dir is not None  # checked before any side ran
    for result in results:
        manifest = result.manifest
        path = manifest_path(
            manifest["element"],
            manifest["version"],
            manifest["datajoint_major"],
            Path(manifest_dir),
            backend,
        )
        write_manifest(manifest, path)
        _say(f"{result.side.label}: manifest written to {path}")
