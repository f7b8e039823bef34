"""The lock file: exact versions of everything a matrix ran with, to run it again.

``--lock PATH`` writes it (JSON, sorted, one package per line) from a finished
run; ``--from-lock PATH`` builds fresh environments from its pins
(``pip install --no-deps`` of exactly that set, then the harness on top) and
checks the same Elements on the same images. A package installed in editable
mode cannot be pinned from an index; it is listed apart and reported.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import __version__
from harness.errors import ConfigurationError

FORMAT = 1
KIND = "element-harness-lock"
#: The harness is installed on top of the pins, from its source tree or by version.
_SELF = "element-harness"


@dataclass(frozen=True)
class Lock:
    """A read lock file."""

    targets: list[str]
    datajoint: list[str]
    dbs: list[str]
    images: dict[str, dict[str, str | None]]
    pins: dict[str, list[str]]
    python: dict[str, str]


def pins_of(freeze: list[str]) -> tuple[list[str], list[str]]:
    """(pinnable ``name==version`` lines, editable installs other than the harness)."""
    pins, editable = [], []
    for line in freeze:
        name = line.split("==")[0]
        if name.lower() == _SELF:
            continue
        (editable if line.endswith("(editable)") else pins).append(line)
    return pins, editable


def lock_document(result: Any) -> dict[str, Any]:
    """The lock of a :class:`~harness.matrix.runner.MatrixResult`."""
    environments = {}
    for datajoint, prepared in result.environments.items():
        pins, editable = pins_of(prepared.probe["freeze"])
        environments[datajoint] = {
            "python": prepared.probe["python"],
            "packages": pins,
            "unpinned_editable": editable,
            "elements": [
                {key: element.get(key) for key in ("target", "name", "version", "commit", "dirty")}
                for element in prepared.probe["elements"]
            ],
        }
    return {
        "format": FORMAT,
        "kind": KIND,
        "harness_version": __version__,
        "elements": list(result.targets),
        "combinations": [{"datajoint": c.datajoint, "db": c.db} for c in result.combos],
        "servers": {
            db: {"image": image.name, "image_id": image.id} for db, image in result.images.items()
        },
        "environments": environments,
    }


def write_lock(path: Path, result: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(lock_document(result), indent=1, sort_keys=True, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


def read_lock(path: Path) -> Lock:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read lock file {path}: {exc}") from None
    if not isinstance(data, Mapping) or data.get("kind") != KIND:
        raise ConfigurationError(
            f"{path} is not a matrix lock file", hint="write one with harness matrix --lock PATH"
        )
    if data.get("format") != FORMAT:
        raise ConfigurationError(f"{path}: lock format {data.get('format')} is not {FORMAT}")
    environments = data["environments"]
    combos = data.get("combinations", [])
    return Lock(
        targets=list(data["elements"]),
        datajoint=list(environments),
        dbs=list(dict.fromkeys(c["db"] for c in combos)),
        images={db: dict(info) for db, info in data.get("servers", {}).items()},
        pins={dj: list(env["packages"]) for dj, env in environments.items()},
        python={dj: env.get("python", "") for dj, env in environments.items()},
    )
