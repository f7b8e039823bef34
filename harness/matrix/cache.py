"""Results cached by a key of everything they depend on, so a rerun redoes only what changed.

A cell (one Element in one combination) is keyed by the environment's package
list and DataJoint version, the Element's spec file and source tree and
installed version, the server image id, the check options, and the harness
itself (version and source digest). Passed and failed cells are cached;
``error`` cells (the server or the environment failed) never are, because
they say nothing about the Element.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness import __version__, resources

#: Statuses worth remembering: they are properties of the inputs, not of the moment.
CACHEABLE = frozenset({"passed", "failed"})


def harness_digest() -> str:
    """The harness version plus a digest of its sources: an edit invalidates results."""
    package = resources.package_dir()
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:16]}"


def cell_key(
    *,
    harness: str,
    datajoint: str,
    python: str,
    freeze: list[str],
    element: Mapping[str, Any],
    db: str,
    image_id: str | None,
    options: Mapping[str, Any],
) -> str:
    """The cache key of one cell: a sha256 over canonical JSON of its inputs."""
    inputs = {
        "harness": harness,
        "datajoint": datajoint,
        "python": python,
        "freeze_sha256": hashlib.sha256("\n".join(freeze).encode()).hexdigest(),
        "element": {
            key: element.get(key)
            for key in ("target", "name", "version", "spec_sha256", "source_sha256")
        },
        "db": db,
        "image_id": image_id,
        "options": dict(options),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


class ResultCache:
    """Cells stored as ``<dir>/<key[:2]>/<key>.json``, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("key") == key else None

    def put(self, key: str, cell: Mapping[str, Any]) -> None:
        if cell.get("status") not in CACHEABLE:
            return
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(dict(cell), indent=1, sort_keys=True), encoding="utf-8")
        temporary.replace(path)
