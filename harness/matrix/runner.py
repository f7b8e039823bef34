"""Run a matrix: environments, probes, images, then one ``harness check`` per combination.

Each combination runs as a subprocess of its environment's interpreter, because
one process can import only one DataJoint. A bounded thread pool runs
combinations side by side (each starts its own server container); the cache
decides which Elements of a combination still need checking.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.db.server import ImageRef
from harness.errors import ConfigurationError
from harness.matrix.cache import ResultCache, cell_key, harness_digest
from harness.matrix.cells import cells_from_report, error_cell
from harness.matrix.envs import (
    INSTALL_TIMEOUT,
    Environment,
    ensure_environment,
    given_environment,
    run_command,
)
from harness.matrix.plan import Combination, column_label

#: Seconds for a combination's ``harness check``: server start plus each Element's activation.
CHECK_BASE_TIMEOUT = 300.0
CHECK_PER_ELEMENT_TIMEOUT = 300.0
#: Seconds a check gets to clean up (remove its container) after SIGTERM.
TERMINATE_GRACE = 30.0
#: Variables that would point a check elsewhere than the server the matrix chose.
_FOREIGN_VARIABLES = ("HARNESS_DB", "HARNESS_IMAGE", "HARNESS_EXTERNAL", "HARNESS_REUSE")
_FOREIGN_PREFIXES = ("DJ_",)


@dataclass
class MatrixRequest:
    """Everything a matrix run needs; the command line builds one."""

    targets: list[str]
    combos: list[Combination]
    cache_dir: Path
    jobs: int = 2
    env_overrides: Mapping[str, str] = field(default_factory=dict)
    pins: Mapping[str, list[str]] = field(default_factory=dict)
    images: Mapping[str, str] = field(default_factory=dict)
    base_python: str | None = None
    timeout: float | None = None
    rerun: bool = False
    say: Callable[[str], None] = lambda text: None


@dataclass
class PreparedEnvironment:
    """An environment and what its probe found inside it."""

    env: Environment
    probe: dict[str, Any]

    @property
    def elements(self) -> dict[str, dict[str, Any]]:
        return {element["target"]: element for element in self.probe["elements"]}


@dataclass
class MatrixResult:
    """The cells of a run and what they were obtained with."""

    targets: list[str]
    combos: list[Combination]
    cells: list[dict[str, Any]]
    environments: dict[str, PreparedEnvironment]
    images: dict[str, ImageRef]
    checked: int = 0
    cached: int = 0

    def label(self, combo: Combination) -> str:
        versions = [
            (cell.get("provenance") or {}).get("server", {}).get("version")
            for cell in self.cells
            if (cell["datajoint"], cell["db"]) == (combo.datajoint, combo.db)
        ]
        return column_label(combo, next((v for v in versions if v), None))


def child_environment() -> dict[str, str]:
    """The checks' environment: without variables that would choose another server."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in _FOREIGN_VARIABLES and not name.startswith(_FOREIGN_PREFIXES)
    }


def prepare_environment(request: MatrixRequest, datajoint: str) -> PreparedEnvironment:
    """Create, reuse or take the environment for ``datajoint``, then probe it."""
    import sys

    if datajoint in request.env_overrides:
        env = given_environment(datajoint, request.env_overrides[datajoint])
    else:
        env = ensure_environment(
            request.cache_dir,
            datajoint,
            base_python=request.base_python or sys.executable,
            pins=request.pins.get(datajoint),
            say=request.say,
        )
    out = run_command(
        [str(env.python), "-m", "harness.matrix.probe", *request.targets],
        INSTALL_TIMEOUT,
        f"probing {env.path}",
    )
    probe = json.loads(out)
    if probe["datajoint"] != datajoint:
        raise ConfigurationError(
            f"the environment {env.path} has DataJoint {probe['datajoint']}, not {datajoint}",
            hint="give --python-env VERSION=PATH with the matching version",
        )
    request.say(f"matrix: environment DataJoint {datajoint}: {env.path} ({env.origin})")
    return PreparedEnvironment(env, probe)


def resolve_images(dbs: Sequence[str], overrides: Mapping[str, str]) -> dict[str, ImageRef]:
    """The image (name and id) of each server: the id is part of every cache key."""
    from harness.db.backends import get_backend
    from harness.db.container import resolve_image
    from harness.db.provider import default_image_for

    return {
        db: resolve_image(overrides.get(db) or default_image_for(get_backend(db))) for db in dbs
    }


def run_check_process(command: list[str], timeout: float) -> tuple[int, str]:
    """Run ``harness check``; on timeout SIGTERM it (it then removes its container)."""
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=child_environment(),
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
        try:
            output, _ = process.communicate(timeout=TERMINATE_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate(timeout=TERMINATE_GRACE)
        return -1, f"harness check took more than {timeout:g} s\n{output}"
    return process.returncode, output


class _Combinations:
    """Runs combinations against a shared cache and counts what it did."""

    def __init__(
        self,
        request: MatrixRequest,
        environments: Mapping[str, PreparedEnvironment],
        images: Mapping[str, ImageRef],
    ) -> None:
        self.request = request
        self.environments = environments
        self.images = images
        self.cache = ResultCache(request.cache_dir / "results")
        self.harness = harness_digest()
        self.options = {"timeout": request.timeout}

    def key(self, combo: Combination, element: Mapping[str, Any]) -> str:
        prepared = self.environments[combo.datajoint]
        return cell_key(
            harness=self.harness,
            datajoint=combo.datajoint,
            python=prepared.probe["python"],
            freeze=prepared.probe["freeze"],
            element=element,
            db=combo.db,
            image_id=self.images[combo.db].id,
            options=self.options,
        )

    def run(self, combo: Combination) -> tuple[list[dict[str, Any]], int, int]:
        """The cells of ``combo`` in target order; (cells, checked, cached)."""
        prepared = self.environments[combo.datajoint]
        found: dict[str, dict[str, Any]] = {}
        keys: dict[str, str] = {}
        for target, element in prepared.elements.items():
            if "error" in element:
                found[target] = error_cell(
                    target, target, combo.datajoint, combo.db, element["error"]
                )
                continue
            keys[target] = self.key(combo, element)
            cached = None if self.request.rerun else self.cache.get(keys[target])
            if cached is not None:
                found[target] = {**cached, "cached": True}
        missing = [target for target in keys if target not in found]
        if missing:
            found.update(self._check(combo, prepared, missing, keys))
        cells = [found[target] for target in self.request.targets]
        cached_count = len(keys) - len(missing)
        self.request.say(f"matrix: {combo.slug}: checked {len(missing)}, cached {cached_count}")
        return cells, len(missing), cached_count

    def _check(
        self,
        combo: Combination,
        prepared: PreparedEnvironment,
        targets: list[str],
        keys: Mapping[str, str],
    ) -> dict[str, dict[str, Any]]:
        image = self.images[combo.db]
        with tempfile.TemporaryDirectory(prefix=f"{combo.slug}-") as scratch:
            report = Path(scratch) / "report.json"
            command = [
                str(prepared.env.python),
                *("-m", "harness.cli", "check", *targets),
                *("--db", combo.db, "--image", image.name, "--json", str(report), "-q"),
                # The matrix already runs combinations side by side: one check at a time
                # within each, or the cores are oversubscribed.
                *("--jobs", "1"),
            ]
            if self.request.timeout is not None:
                command += ["--timeout", str(self.request.timeout)]
            timeout = CHECK_BASE_TIMEOUT + CHECK_PER_ELEMENT_TIMEOUT * len(targets)
            status, output = run_check_process(command, timeout)
            cells: dict[str, dict[str, Any]] = {}
            if status in (0, 1) and report.is_file():
                for cell in cells_from_report(
                    report,
                    combo.datajoint,
                    combo.db,
                    prepared.elements,
                    prepared.probe["freeze"],
                ):
                    if cell["target"] not in keys:
                        continue
                    cell["key"] = keys[cell["target"]]
                    self.cache.put(cell["key"], cell)
                    cells[cell["target"]] = {**cell, "cached": False}
        tail = "\n".join(output.strip().splitlines()[-8:]) or f"exit status {status}"
        for target in targets:
            if target not in cells:
                name = prepared.elements[target].get("name", target)
                cells[target] = error_cell(target, name, combo.datajoint, combo.db, tail)
        return cells


def run_matrix(request: MatrixRequest) -> MatrixResult:
    """Prepare every environment, then run every combination; nothing is raised per cell."""
    if not request.targets:
        raise ConfigurationError("no Element given", hint="e.g. harness matrix element-lab")
    versions = list(dict.fromkeys(combo.datajoint for combo in request.combos))
    jobs = max(1, request.jobs)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        prepared = dict(
            zip(
                versions, pool.map(lambda v: prepare_environment(request, v), versions), strict=True
            )
        )
        images = resolve_images(list(dict.fromkeys(c.db for c in request.combos)), request.images)
        runner = _Combinations(request, prepared, images)
        outcomes = list(pool.map(runner.run, request.combos))
    cells = [cell for cells, _, _ in outcomes for cell in cells]
    checked = sum(count for _, count, _ in outcomes)
    cached = sum(count for _, _, count in outcomes)
    request.say(f"matrix: {len(cells)} cell(s): checked {checked}, cached {cached}")
    return MatrixResult(request.targets, request.combos, cells, prepared, images, checked, cached)
