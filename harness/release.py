"""``harness release-check``: what a new release of an Element changes in its schema.

Both releases are checked on a real server (as ``harness check`` does), their
manifests are diffed with :func:`harness.manifest.diff_manifests`, and every
change is classified: *breaking* when a pipeline built on the old release
could no longer insert, fetch or join as before (a table or attribute removed,
a primary key, tier or foreign key changed, a type narrowed, a required
attribute added), *additive* otherwise. The Markdown "Schema changes" section
is meant to be pasted into release notes; the exit status gates a release.

A release is a version (installed into a temporary directory with ``pip
install --target``, from the spec's requirement name), a source directory, or a
git ref of ``--repo`` (exported with ``git archive``). Checks run with the
DataJoint of the environment ``harness`` runs in.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import ConfigurationError, HarnessError
from harness.manifest import Change, diff_manifests, manifests_in

#: Seconds for ``git`` and ``pip`` steps and for one side's ``harness check``.
GIT_TIMEOUT = 60.0
PIP_TIMEOUT = 600.0
CHECK_TIMEOUT = 900.0
BREAKING, ADDITIVE = "breaking", "additive"

# ------------------------------------------------------------------ classification

_INT_BYTES = {"tinyint": 1, "smallint": 2, "mediumint": 3, "int": 4, "integer": 4, "bigint": 8}
_CORE = {
    "int8": "tinyint",
    "int16": "smallint",
    "int32": "int",
    "int64": "bigint",
    "uint8": "tinyint unsigned",
    "uint16": "smallint unsigned",
    "uint32": "int unsigned",
    "uint64": "bigint unsigned",
    "float32": "float",
    "float64": "double",
    "bool": "tinyint",
}
_FLOAT_BYTES = {"float": 4, "double": 8, "real": 8, "double precision": 8}
_LENGTHS = {
    "tinytext": 255,
    "text": 65_535,
    "mediumtext": 16_777_215,
    "longtext": 4_294_967_295,
    "tinyblob": 255,
    "blob": 65_535,
    "mediumblob": 16_777_215,
    "longblob": 4_294_967_295,
}
_NUMBER = re.compile(r"(tinyint|smallint|mediumint|bigint|integer|int)(\(\d+\))?( unsigned)?\Z")
_SIZED = re.compile(r"(var)?(char|binary)\((\d+)\)\Z")
_DECIMAL = re.compile(r"(decimal|numeric)\((\d+)(?:,\s*(\d+))?\)( unsigned)?\Z")
_TEMPORAL = re.compile(r"(datetime|timestamp|time)(?:\((\d)\))?\Z")
_ENUM = re.compile(r"enum\((.*)\)\Z")


def _int_range(match: re.Match[str]) -> tuple[int, int]:
    bits = 8 * _INT_BYTES[match.group(1)]
    if match.group(3):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _family(text: str) -> tuple[str, Any]:
    """A type as (family, measure): comparable measures within a family."""
    sql = _CORE.get(text.strip().lower(), text.strip().lower())
    if match := _NUMBER.match(sql):
        return "integer", _int_range(match)
    if sql in _FLOAT_BYTES:
        return "float", _FLOAT_BYTES[sql]
    if match := _SIZED.match(sql):
        family = "binary" if match.group(2) == "binary" else "text"
        return family, int(match.group(3))
    if sql in _LENGTHS:
        return ("binary" if "blob" in sql else "text"), _LENGTHS[sql]
    if match := _DECIMAL.match(sql):
        digits, scale = int(match.group(2)), int(match.group(3) or 0)
        return "decimal", (digits - scale, scale)
    if match := _TEMPORAL.match(sql):
        return match.group(1), int(match.group(2) or 0)
    if match := _ENUM.match(sql):
        return "enum", frozenset(re.findall(r"'((?:[^']|'')*)'", match.group(1)))
    return sql, None


def type_change(old: str, new: str) -> str:
    """``widened`` (every old value fits), ``narrowed`` (some do not) or ``changed``."""
    (family_a, a), (family_b, b) = _family(old), _family(new)
    if family_a != family_b or a is None or b is None:
        return "widened" if family_a == family_b and a == b else "changed"
    if family_a == "integer":
        fits = b[0] <= a[0] and a[1] <= b[1]
    elif family_a == "decimal":
        fits = b[0] >= a[0] and b[1] >= a[1]
    elif family_a == "enum":
        fits = a <= b
    else:
        fits = b >= a
    return "widened" if fits else "narrowed"


@dataclass(frozen=True)
class Classified:
    """One change with its verdict and the reason, in words."""

    change: Change
    verdict: str
    reason: str


def _attributes(manifest: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {
        f"{table['schema']}.{table['name']}.{attribute['name']}": attribute
        for table in manifest.get("tables", [])
        for attribute in table.get("attributes", [])
    }


def _fk_children(text: str) -> str:
    """The child attributes of a rendered foreign key: ``-> parent (a, b=c)`` -> ``a,b``."""
    inside = text[text.find("(") + 1 : text.rfind(")")]
    return ",".join(sorted(part.split("=")[0].strip() for part in inside.split(",")))


def _classify_one(
    change: Change,
    old: Mapping[str, Mapping[str, Any]],
    new: Mapping[str, Mapping[str, Any]],
    removed_fks: set[tuple[str, str]],
) -> tuple[str, str]:
    removed = {"table": "table removed", "attribute": "attribute removed"}
    if change.op == "-":
        return BREAKING, removed.get(change.kind, f"{change.kind} removed")
    if change.kind in ("tier", "primary key"):
        return BREAKING, f"{change.kind} changed"
    if change.op == "+" and change.kind == "attribute":
        added = new.get(change.subject, {})
        if not added.get("nullable") and added.get("default") is None:
            return BREAKING, "required attribute added without a default"
        return ADDITIVE, "optional attribute added"
    if change.op == "+" and change.kind == "foreign key":
        if (change.subject, _fk_children(change.detail)) in removed_fks:
            return BREAKING, "foreign key changed"
        return ADDITIVE, "foreign key added"
    if change.op == "+":
        return ADDITIVE, f"{change.kind} added"
    before, after = old.get(change.subject, {}), new.get(change.subject, {})
    if change.kind in ("type", "core_type"):
        if not before.get(change.kind) or not after.get(change.kind):
            return ADDITIVE, f"{change.kind.replace('_', ' ')} recorded"
        verdict = type_change(str(before[change.kind]), str(after[change.kind]))
        return (ADDITIVE if verdict == "widened" else BREAKING), f"type {verdict}"
    if change.kind == "nullable":
        if before.get("nullable") and not after.get("nullable"):
            return BREAKING, "attribute made non-nullable"
        return ADDITIVE, "attribute made nullable"
    if change.kind == "default":
        if after.get("default") is None and not after.get("nullable"):
            return BREAKING, "default removed from a required attribute"
        return ADDITIVE, "default changed"
    return ADDITIVE, f"{change.kind} changed"


def classify(
    changes: Sequence[Change], old: Mapping[str, Any], new: Mapping[str, Any]
) -> list[Classified]:
    """Each change of ``diff_manifests(old, new)`` with its verdict."""
    before, after = _attributes(old), _attributes(new)
    removed_fks = {
        (change.subject, _fk_children(change.detail))
        for change in changes
        if change.op == "-" and change.kind == "foreign key"
    }
    result = []
    for change in changes:
        verdict, reason = _classify_one(change, before, after, removed_fks)
        result.append(Classified(change, verdict, reason))
    return result


def markdown(title: str, classified: Sequence[Classified]) -> str:
    """The "Schema changes" section for release notes."""
    lines = [f"## Schema changes: {title}", ""]
    for verdict, heading in ((BREAKING, "Breaking"), (ADDITIVE, "Additive")):
        lines += [f"### {heading}", ""]
        chosen = [item for item in classified if item.verdict == verdict]
        lines += [f"- `{item.change.render()}`: {item.reason}" for item in chosen] or ["- none"]
        lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------ the two releases


@dataclass
class Release:
    """One side of the comparison, ready for ``harness check``."""

    text: str
    label: str
    target: str
    pythonpath: list[str] = field(default_factory=list)
    no_install: bool = False
    commit: str | None = None


def _run(command: Sequence[str], timeout: float, what: str, **kwargs: Any) -> bytes:
    try:
        done = subprocess.run(
            list(command), capture_output=True, timeout=timeout, check=False, **kwargs
        )
    except subprocess.TimeoutExpired:
        raise HarnessError(f"{what} took more than {timeout:g} s") from None
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-6:]
        raise ConfigurationError(f"{what} failed:\n" + "\n".join(tail))
    return done.stdout


def _spec_for(element: str) -> Any:
    from harness.elements.spec import find_spec, load_spec

    path = find_spec(element)
    return load_spec(path) if path is not None else None


def _package_root(directory: Path, package: str) -> Path:
    for root in (directory, directory / "src"):
        if (root / package / "__init__.py").is_file():
            return root
    raise ConfigurationError(f"{directory} holds no package {package}")


def _from_directory(element: str, text: str, directory: Path, spec: Any) -> Release:
    """A source tree: under the spec (its stubs and overrides) when it names an install."""
    if spec is not None and spec.install is not None:
        root = _package_root(directory, spec.package)
        return Release(text, directory.name, spec.name, [str(root)], no_install=True)
    return Release(text, directory.name, str(directory.resolve()))


def _from_git(element: str, text: str, repo: Path, scratch: Path, spec: Any) -> Release:
    commit = (
        _run(
            ["git", "-C", str(repo), "rev-parse", "--verify", f"{text}^{{commit}}"],
            GIT_TIMEOUT,
            f"resolving {text} in {repo}",
        )
        .decode()
        .strip()
    )
    archive = _run(["git", "-C", str(repo), "archive", commit], GIT_TIMEOUT, f"git archive {text}")
    tree = scratch / f"git-{commit[:12]}"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(tree, filter="data")
        else:  # pragma: no cover - Python without extraction filters
            tar.extractall(tree)
    release = _from_directory(element, text, tree, spec)
    release.label, release.commit = f"{text} ({commit[:12]})", commit
    return release


def _from_version(element: str, text: str, scratch: Path, spec: Any) -> Release:
    """``pip install --target`` of ``<requirement>==<version>`` (and the spec's light deps)."""
    if spec is not None and spec.install is not None:
        name = re.split(r"[\s\[=<>!~;@]", spec.install.requirement.strip(), maxsplit=1)[0]
        extras, no_deps, target = list(spec.install.with_), spec.install.no_deps, spec.name
    else:
        name, extras, no_deps, target = element, [], True, element.replace("-", "_")
    where = scratch / f"pip-{text}"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--target", str(where), *(["--no-deps"] if no_deps else [])]
    _run([*command, f"{name}=={text}", *extras], PIP_TIMEOUT, f"pip install {name}=={text}")
    return Release(text, text, target, [str(where)], no_install=True)


def prepare_release(
    element: str, text: str, repo: Path | None, scratch: Path, spec: Any
) -> Release:
    """Decide what ``text`` is (git ref, directory or version) and make it checkable."""
    if repo is not None:
        return _from_git(element, text, repo, scratch, spec)
    if Path(text).is_dir():
        return _from_directory(element, text, Path(text), spec)
    if not re.match(r"[0-9A-Za-z][0-9A-Za-z.+!_-]*\Z", text):
        raise ConfigurationError(
            f"{text!r} is neither a directory nor a version",
            hint="give a version (1.2.0), a source directory, or a git ref with --repo",
        )
    return _from_version(element, text, scratch, spec)


def check_release(release: Release, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Run ``harness check`` on one release; its manifest, or why there is none."""
    from harness.matrix.runner import child_environment

    env = child_environment()
    env["PYTHONPATH"] = os.pathsep.join([*release.pythonpath, env.get("PYTHONPATH", "")]).strip(
        os.pathsep
    )
    # Each release is compared with the other, not with the manifests of the repository it is
    # run in ([tool.harness] manifest_dir): an empty directory, so only spec names fall back.
    env["HARNESS_MANIFEST_DIR"] = str(out.parent / f"no-manifests-{out.stem}")
    command = [sys.executable, "-m", "harness.cli", "check", release.target, "--json", str(out)]
    command += ["-q", "--db", args.db] + (["--image", args.image] if args.image else [])
    command += ["--no-install"] if release.no_install else []
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=CHECK_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise HarnessError(f"checking {release.label} took more than {CHECK_TIMEOUT:g} s") from None
    if done.returncode not in (0, 1) or not out.is_file():
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-6:])
        raise HarnessError(f"checking {release.label} failed:\n{tail}")
    manifests = manifests_in(out)
    manifest = next(iter(manifests.values()))
    element = json.loads(out.read_text(encoding="utf-8"))["elements"][0]
    return {"manifest": manifest, "status": element["status"], "failure": element.get("failure")}


# ------------------------------------------------------------------ command line


def add_release_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``release-check`` to the ``harness`` subcommands."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "release-check",
        help="classify the schema changes between two releases of an Element",
        description="Check two releases of ELEMENT, diff their manifests and classify each "
        "change as breaking or additive. Exit status 0: no breaking change (or "
        "--allow-breaking), 1: breaking changes or a release fails its check, 2: usage or "
        "environment error.",
    )
    parser.add_argument("element", metavar="ELEMENT", help="spec name or package")
    parser.add_argument("--from", dest="old", required=True, metavar="OLD")
    parser.add_argument("--to", dest="new", required=True, metavar="NEW")
    parser.add_argument("--repo", metavar="PATH", help="OLD and NEW are git refs of this repo")
    parser.add_argument("--allow-breaking", action="store_true", help="exit 0 on breaking changes")
    parser.add_argument("--markdown", metavar="PATH", help="also write the section here")
    parser.add_argument("--db", default="mysql", help="server to check on (default mysql)")
    parser.add_argument("--image", metavar="IMAGE", help="server image")
    parser.set_defaults(handler=run_release)
    return parser


def run_release(args: argparse.Namespace) -> int:
    """Run the ``release-check`` command parsed by :func:`add_release_parser`."""
    spec = _spec_for(args.element)
    repo = Path(args.repo) if args.repo else None
    with tempfile.TemporaryDirectory(prefix="harness-release-") as scratch_text:
        scratch = Path(scratch_text)
        releases = [
            prepare_release(args.element, text, repo, scratch, spec)
            for text in (args.old, args.new)
        ]
        with ThreadPoolExecutor(max_workers=2) as pool:
            outs = [scratch / "old.json", scratch / "new.json"]
            old, new = pool.map(
                lambda pair: check_release(pair[0], args, pair[1]), zip(releases, outs, strict=True)
            )
    for release, result in zip(releases, (old, new), strict=True):
        if result["status"] != "passed":
            failure = result["failure"] or {}
            print(
                f"release-check: {release.label} does not pass its check: "
                f"{failure.get('class')}: {failure.get('message')}",
                file=sys.stderr,
            )
            return 1
    classified = classify(
        diff_manifests(old["manifest"], new["manifest"]), old["manifest"], new["manifest"]
    )
    title = f"{args.element} {releases[0].label} → {releases[1].label}"
    text = markdown(title, classified)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text, encoding="utf-8")
    breaking = sum(item.verdict == BREAKING for item in classified)
    print(
        f"release-check: {breaking} breaking, {len(classified) - breaking} additive change(s)",
        file=sys.stderr,
    )
    return 1 if breaking and not args.allow_breaking else 0
