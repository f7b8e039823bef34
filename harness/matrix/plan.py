"""Which combinations a matrix holds: DataJoint versions x servers (x Python for CI).

One function decides which server a DataJoint version can use, and both the
local run and ``--github-matrix`` (the reusable workflow's fan-out) go through
it, so the two cannot disagree about, say, PostgreSQL on DataJoint 0.14.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from harness.db.backends import BACKENDS, canonical_name, get_backend
from harness.errors import ConfigurationError

_VERSION = re.compile(r"\d+(\.\d+)*([a-z]+\d*)?(\.post\d+|\.dev\d+)?\Z")


@dataclass(frozen=True, order=True)
class Combination:
    """One column of the matrix: a DataJoint version on one database server."""

    datajoint: str
    db: str
    #: Set only when one table holds cells of several Pythons (a CI fan-out over Pythons).
    python: str = ""

    @property
    def slug(self) -> str:
        """A file-name-safe identifier, e.g. ``dj-0.14.10-mariadb``."""
        return f"dj-{self.datajoint}-{self.db}" + (f"-py{self.python}" if self.python else "")


def split_list(text: str | Sequence[str] | None) -> list[str]:
    """``"a, b,c"`` or ``["a", "b c"]`` -> ``["a", "b", "c"]``: workflow inputs are strings."""
    if text is None:
        return []
    parts = [text] if isinstance(text, str) else list(text)
    return [item for part in parts for item in re.split(r"[\s,]+", part) if item]


def parse_datajoint_versions(text: str | Sequence[str] | None) -> list[str]:
    versions = split_list(text)
    for version in versions:
        if not _VERSION.match(version):
            raise ConfigurationError(
                f"{version!r} is not a DataJoint version", hint="e.g. --datajoint 0.14.10,2.3.5"
            )
    return list(dict.fromkeys(versions))


def parse_backends(text: str | Sequence[str] | None) -> list[str]:
    backends = []
    for item in split_list(text):
        canonical = canonical_name(item)
        if canonical is None:
            raise ConfigurationError(
                f"unknown server {item.lower()!r}",
                hint=f"choose from {', '.join(sorted(BACKENDS))}",
            )
        backends.append(canonical)
    return list(dict.fromkeys(backends))


def datajoint_major(version: str) -> int:
    return int(version.split(".")[0])


def supports(datajoint: str, db: str) -> bool:
    """Whether the server can be used by that DataJoint (PostgreSQL needs 2.x)."""
    return get_backend(db).supports_datajoint(datajoint_major(datajoint))


def combinations(datajoint_versions: Iterable[str], dbs: Iterable[str]) -> list[Combination]:
    """Every supported (DataJoint, server) pair, in the order given."""
    dbs = list(dbs)
    return [Combination(dj, db) for dj in datajoint_versions for db in dbs if supports(dj, db)]


def github_matrix(
    datajoint_versions: Iterable[str], dbs: Iterable[str], pythons: Iterable[str]
) -> dict[str, Any]:
    """The ``strategy.matrix`` of the reusable workflow: ``{"include": [...]}``."""
    return {
        "include": [
            {"datajoint": combo.datajoint, "db": combo.db, "python": python}
            for python in pythons
            for combo in combinations(datajoint_versions, dbs)
        ]
    }


def column_label(combo: Combination, server_version: str | None) -> str:
    """``0.14.10 · MariaDB 10.11``: the server's major.minor when known."""
    title = BACKENDS[combo.db].title if combo.db in BACKENDS else combo.db
    match = re.match(r"(\d+)\.(\d+)", server_version or "")
    suffix = f" {match.group(1)}.{match.group(2)}" if match else ""
    python = f" · Python {combo.python}" if combo.python else ""
    return f"{combo.datajoint} · {title}{suffix}{python}"
