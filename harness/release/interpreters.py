"""Which interpreter checks a side: this one, or an environment of another DataJoint version.

One process imports one DataJoint, so a side to be checked under another
version (``--from-datajoint 0.14.10 --to-datajoint 2.3.5``) runs in the
environment the compatibility matrix keeps for that version
(:mod:`harness.matrix.envs`: created once, fingerprinted, reused; or given with
``--python-env VERSION=PATH`` / ``HARNESS_MATRIX_ENVS``). A side whose version
is this interpreter's own DataJoint, or that names none, runs here.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ConfigurationError

_VERSION = re.compile(r"\d+(\.\d+)*([a-z]+\d*)?\Z")


@dataclass(frozen=True)
class Interpreter:
    """The Python a side is checked with, and the DataJoint version it is expected to hold."""

    python: str
    datajoint: str
    origin: str  # "this", "given", "created" or "reused"


def current_datajoint() -> str:
    from harness.activation import compat

    return compat.version()


def requested_version(role: str, version: str | None) -> str:
    """The DataJoint version the side ``role`` is to be checked under (this one's by default)."""
    if version is None:
        return current_datajoint()
    if not _VERSION.match(version):
        raise ConfigurationError(
            f"--{role}-datajoint {version!r} is not a DataJoint version",
            hint="give a released version such as 0.14.10 or 2.3.5",
        )
    return version


def interpreter_for(
    role: str,
    version: str | None,
    *,
    overrides: Mapping[str, str],
    cache_dir: Path | None = None,
    say: Callable[[str], None] = lambda text: None,
) -> Interpreter:
    """The interpreter for the side ``role`` (``from``/``to``) under DataJoint ``version``."""
    from harness.matrix.envs import default_cache_dir, ensure_environment, given_environment

    here = current_datajoint()
    version = requested_version(role, version)
    if version == here and version not in overrides:
        return Interpreter(sys.executable, here, "this")
    if version in overrides:
        env = given_environment(version, overrides[version])
    else:
        env = ensure_environment(cache_dir or default_cache_dir(), version, say=say)
    return Interpreter(str(env.python), version, env.origin)


def environment_overrides(items: Sequence[str]) -> dict[str, str]:
    """``--python-env`` pairs and ``HARNESS_MATRIX_ENVS``, as the matrix reads them."""
    from harness.matrix.envs import parse_env_overrides

    return parse_env_overrides(items, dict(os.environ))
