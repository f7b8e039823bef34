"""One side of a release check, in its own interpreter: ``python -m harness.release.child REQUEST``.

The parent (:mod:`harness.release.check`) starts this in a fresh, empty working
directory with the side's directory first on ``PYTHONPATH``. Before anything is
imported, this process removes the working directory and ``''`` from
``sys.path``, then asks the import system where the Element's package would
come from; if that is not the side's directory, it refuses: a release check
that silently compared a working tree with itself would be worse than none.
Only then is the Element checked on the server the parent started, with no
reviewed manifest to compare against (a release check diffs the two sides, it
does not judge either against ``elements/manifests/``).

The request and the answer are JSON files; the request holds the server's admin
password and is written 0600 by the parent.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any


def isolate_sys_path(root: Path, foreign: list[Path]) -> None:
    """Put ``root`` first; drop ``''``, the working directory and ``foreign`` directories."""
    unwanted = {Path.cwd().resolve(), *(path.resolve() for path in foreign)} - {root.resolve()}
    kept = []
    for entry in sys.path:
        if entry in ("", ".") or Path(entry).resolve() in unwanted:
            continue
        if Path(entry).resolve() != root.resolve():
            kept.append(entry)
    sys.path[:] = [str(root), *kept]
    importlib.invalidate_caches()


def imported_from(package: str) -> list[Path]:
    """The directories ``import package`` would load from, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return [Path(location).resolve() for location in spec.submodule_search_locations]
    return [Path(spec.origin).resolve().parent] if spec.origin else []


def origin_problem(package: str, root: Path, label: str) -> str | None:
    """Why ``package`` would not be imported from ``root`` (None when it would)."""
    locations = imported_from(package)
    if not locations:
        return f"{package} cannot be imported from {root} for {label}"
    stray = [path for path in locations if not path.is_relative_to(root.resolve())]
    if stray:
        return (
            f"{label}: {package} would be imported from {stray[0]}, not from this "
            f"release's directory {root}; refusing to check another copy"
        )
    return None


def _check(request: dict[str, Any], root: Path) -> dict[str, Any]:
    from harness.activation import compat
    from harness.activation.runner import CheckOptions
    from harness.db.server import ServerInfo
    from harness.elements.spec import load_spec
    from harness.manifest import build_manifest
    from harness.release.target import side_target
    from harness.runinfo import RunIdentity
    from harness.session import check_target

    spec = load_spec(Path(request["spec"])) if request.get("spec") else None
    target, notes = side_target(
        request["element"], request["package"], spec, request.get("version"), root
    )
    server = ServerInfo.from_json(request["server"])
    with tempfile.TemporaryDirectory(prefix="harness-release-manifests-") as nowhere:
        options = CheckOptions(
            timeout=float(request["timeout"]),
            stub_missing=bool(request["stub_missing"]),
            manifest_dir=Path(nowhere),  # empty: nothing to match, the sides are diffed instead
        )
        result = check_target(target, server, RunIdentity.new(), options)
    manifest = None
    if result.failure is None:
        manifest = build_manifest(
            target.name, target.version, compat.major_version(), result.tables, result.mocked_tables
        )
    return {
        "notes": notes,
        "modules": list(target.modules),
        "result": result.to_dict(),
        "manifest": manifest,
        "datajoint": compat.version(),
    }


def main(argv: list[str]) -> int:
    """Check one side as the request file says; write the answer file; exit 0 unless it broke."""
    request = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    answer_path = Path(request["answer"])
    root = Path(request["root"])
    isolate_sys_path(root, [Path(path) for path in request.get("foreign", [])])
    found = imported_from(request["package"])
    answer: dict[str, Any] = {"imported_from": [str(path) for path in found]}
    problem = origin_problem(request["package"], root, request["label"])
    if problem is not None:
        answer["error"] = problem
        answer["hint"] = (
            "a .pth file, an editable install or PYTHONPATH puts another copy of the package "
            "first; remove it from this environment or run from another one"
        )
    else:
        from harness.errors import HarnessError

        try:
            answer.update(_check(request, root))
        except HarnessError as exc:
            answer["error"], answer["hint"] = exc.message, exc.hint
    answer_path.write_text(json.dumps(answer), encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover - run by harness.release.check
    os.umask(0o077)
    sys.exit(main(sys.argv[1:]))
