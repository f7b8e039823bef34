"""Temporary stores for ``attach@store``, ``<blob@store>`` and ``filepath@store`` columns.

DataJoint resolves a store by name when a table that uses it is declared (0.14
creates its ``~external_<store>`` table then), so the stores must be configured
before activation, from the store names the Element's sources use. Each store
is a ``file`` store in the check's temporary directory: nothing leaves it.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from harness.activation import compat

#: ``attach@name``, ``blob@name``, ``filepath@name``, ``<attach@name>``, ``<npy@name>``...
_STORE_USE = re.compile(r"\b(?:attach|blob|filepath|hash|npy|object)@(\w+)")


def store_names(texts: Iterable[str]) -> list[str]:
    """The store names that definitions in ``texts`` (module sources) refer to."""
    names: set[str] = set()
    for text in texts:
        names.update(_STORE_USE.findall(text))
    return sorted(names)


def store_location(root: Path, name: str) -> Path:
    return root / "stores" / name


def _spec(root: Path, name: str) -> dict[str, Any]:
    location = store_location(root, name)
    location.mkdir(parents=True, exist_ok=True)
    spec: dict[str, Any] = {"protocol": "file", "location": str(location)}
    if compat.major_version() < 2:
        spec["stage"] = str(location)  # 0.14: where filepath values must live
    return spec


@contextlib.contextmanager
def temporary_stores(names: list[str], root: Path) -> Iterator[dict[str, Path]]:
    """Configure a file store under ``root`` for each name; restore the config on exit."""
    if not names:
        yield {}
        return
    config = compat.datajoint().config
    previous = dict(config["stores"]) if "stores" in _keys(config) else None
    stores = {**(previous or {}), **{name: _spec(root, name) for name in names}}
    config["stores"] = stores
    try:
        yield {name: store_location(root, name) for name in names}
    finally:
        with contextlib.suppress(Exception):
            if previous is not None:
                config["stores"] = previous
            else:  # DataJoint 0.14 had no such key: leave none, as before the check
                del config["stores"]


def _keys(config: Any) -> set[str]:
    with contextlib.suppress(Exception):
        config["stores"]
        return {"stores"}
    return set()
