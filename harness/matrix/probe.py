"""What an environment holds, reported from inside it: ``python -m harness.matrix.probe``.

The matrix driver runs in one interpreter and the checks in others; only a
process inside an environment can say which DataJoint, which packages and
which Element versions it has. The probe installs what the targets' specs
name first (as ``harness check`` would), so that the package list it reports
is the one the checks will see, and the result cache keys stay stable.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

GIT_TIMEOUT = 10.0


def freeze() -> list[str]:
    """``name==version`` of every installed distribution, sorted; editable ones marked."""
    lines = set()
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name:
            continue
        direct = dist.read_text("direct_url.json")
        editable = bool(direct and json.loads(direct).get("dir_info", {}).get("editable"))
        lines.add(f"{name}=={dist.version}" + (" (editable)" if editable else ""))
    return sorted(lines, key=str.lower)


def tree_sha256(directory: Path) -> str:
    """A digest of every file under ``directory`` (bytecode caches left out)."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def git_commit(directory: Path) -> tuple[str | None, bool]:
    """The commit of the git tree holding ``directory``, and whether it has local changes."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(directory), *args],
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None, False
    return commit, bool(git("status", "--porcelain", "--", "."))


def package_dir(target: Any) -> Path | None:
    for root in target.sys_path:
        if (Path(root) / target.package).is_dir():
            return Path(root) / target.package
    try:
        found = importlib.util.find_spec(target.package)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    return Path(next(iter(found.submodule_search_locations)))


def describe(text: str, install: bool) -> dict[str, Any]:
    """Resolve (and install) one target; what the cache key and provenance need."""
    from harness.errors import HarnessError
    from harness.install import ensure_installed, installed_version

    try:
        from harness.elements.targets import resolve_target

        target = resolve_target(text)
        if target.spec is not None and target.spec.install is not None:
            ensure_installed(
                target.spec, allow=install, say=lambda line: print(line, file=sys.stderr)
            )
    except HarnessError as exc:
        return {"target": text, "error": str(exc)}
    where = package_dir(target)
    spec_path = target.spec.path if target.spec is not None else None
    commit, dirty = (None, False)
    if where is not None and "site-packages" not in where.parts:
        commit, dirty = git_commit(where)
    version = target.version
    if not target.sys_path:
        version = installed_version(target.package, target.spec) or version
    return {
        "target": text,
        "name": target.name,
        "package": target.package,
        "version": version,
        "spec_sha256": hashlib.sha256(spec_path.read_bytes()).hexdigest() if spec_path else None,
        "source_sha256": tree_sha256(where) if where is not None else None,
        "source": str(where) if where is not None else None,
        "commit": commit,
        "dirty": dirty,
    }


def probe(targets: list[str], install: bool) -> dict[str, Any]:
    from harness import __version__
    from harness.activation import compat

    elements = [describe(text, install) for text in targets]
    return {
        "harness_version": __version__,
        "python": platform.python_version(),
        "datajoint": compat.version(),
        "elements": elements,
        "freeze": freeze(),
    }


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    install = "--no-install" not in args
    targets = [arg for arg in args if arg != "--no-install"]
    json.dump(probe(targets, install), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
