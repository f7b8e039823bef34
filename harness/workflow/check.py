"""``harness check workflow_lab/pipeline.py``: the lab's real pipeline, in a namespace.

The check points the pipeline's schema prefix at an isolated namespace
(``<namespace>_``, so ``db_prefix + "lab"`` becomes ``<namespace>_lab``), connects
DataJoint as the namespace's confined user and imports the module: the lab's
own linking module and its own tables are exercised as they are, with no
mocks. Then it reads the catalog, checks that every table class the pipeline
and its Elements declared is on the server and that nothing was created outside
the namespace, imports it again (must change nothing), compares with the
pipeline's manifest and drops the namespace.

The manifest is the pipeline's own (``<module>.dj<major>[.postgresql].json``,
schema stems without the prefix): an Element's reviewed manifest records its
tables against mocked upstream tables, while the pipeline links the real ones,
so only a record of the pipeline itself can be compared exactly. It is also
what ``harness deploy`` plans the pipeline against.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import resources
from harness.activation import compat
from harness.activation.failures import SERVER_GONE_HINT, Failure, FailureClass
from harness.activation.namespace import Namespace
from harness.activation.phases.base import Timer
from harness.activation.phases.teardown import record_teardown
from harness.activation.runner import CheckOptions
from harness.db import registry
from harness.db.backends import get_backend
from harness.db.catalog import Table
from harness.db.server import ServerInfo
from harness.elements.targets import Target
from harness.errors import HarnessError
from harness.manifest import (
    build_manifest,
    diff_manifests,
    find_manifest,
    load_manifest,
    manifest_dirs,
    render_diff,
    write_manifest,
)
from harness.redact import redact_text
from harness.results import ElementResult, Status
from harness.workflow.module import (
    declared_tables,
    element_packages,
    import_failure,
    imported_pipeline,
)


def default_manifest_dir(target: Target) -> Path:
    """``manifests`` of the ``elements/`` tree the pipeline lives in, else ``tests/manifests``.

    The fallback, under the working directory (a lab's repository root), is where
    ``harness init`` keeps an Element's reviewed manifests; ``--manifest-dir`` (or
    ``[tool.harness] manifest_dir``) names another place.
    """
    assert target.pipeline is not None
    for parent in target.pipeline.parents:
        if parent.name == "elements":
            return parent / "manifests"
    return Path.cwd() / "tests" / "manifests"


def pipeline_manifest(
    target: Target, manifest_dir: Path | None, backend: str
) -> tuple[Path, Path | None]:
    """``(where the pipeline's manifest belongs, where it was found or None)``."""
    directories = manifest_dirs(manifest_dir, default_manifest_dir(target), fall_back=False)
    return find_manifest(target.name, None, compat.major_version(), directories, backend)


class PipelineCheck:
    """One check of a pipeline module; the same interface as an Element's check."""

    def __init__(
        self,
        target: Target,
        server: ServerInfo,
        prefix: str,
        options: CheckOptions,
        on_step: Callable[[str], None] | None = None,
    ) -> None:
        self.target = target
        self.server = server
        self.prefix = prefix
        self.options = options
        self.backend = get_backend(server.backend)
        self.result = ElementResult(target=target.text, name=target.name)
        self.timer = Timer(self.result.timings, on_step)
        #: What the pipeline names its schemas with in the namespace.
        self.schema_prefix = f"{prefix}_"

    def run(self) -> ElementResult:
        """Run the whole check; nothing is left on the server."""
        compat.require_backend_support(self.backend.name)
        try:
            admin = self.backend.connect(
                *self.server.address(),
                self.server.admin_user,
                self.server.admin_password,
                tls=self.server.tls,
            )
        except self.backend.driver_errors() as exc:
            self._server_failure("connecting to the server as admin", exc)
            return self.result
        try:
            before = self.backend.all_schemas(admin)
            with self.timer("namespace_s"):
                namespace = Namespace.create(
                    self.backend,
                    admin,
                    self.prefix,
                    server_key=(self.server.host, self.server.port),
                )
            try:
                self._check_in(namespace, admin, before)
            except self.backend.driver_errors() as exc:
                self._server_failure("reading the catalog", exc)
            finally:
                with self.timer("teardown_s"):
                    left = namespace.drop()
                record_teardown(self.result, left)
        finally:
            with contextlib.suppress(Exception):
                admin.close()
        return self.result

    def _server_failure(self, doing: str, exc: BaseException) -> None:
        failure = Failure(
            FailureClass.SERVER_ERROR,
            f"the database connection failed while {doing}: "
            + redact_text(f"{type(exc).__name__}: {exc}"),
            module=self.target.modules[0],
            hint=SERVER_GONE_HINT,
        )
        self.result.record_failure("activated", failure)

    def _import(self, namespace: Namespace, admin: Any, step: str) -> set[str] | None:
        """Import the pipeline as the namespace's user; the tables it declared, or None."""
        with (
            self.timer(step),
            compat.connected(
                *self.server.address(),
                namespace.user,
                namespace.password,
                self.backend.name,
                tls=self.server.tls,
            ),
        ):
            try:
                with imported_pipeline(
                    self.target,
                    self.schema_prefix,
                    timeout=self.target.timeout or self.options.timeout,
                    on_timeout=lambda: self.backend.end_sessions(admin, namespace.user),
                    stub_missing=self.options.stub_missing,
                ) as module:
                    packages = (self.target.package, *element_packages(self.target))
                    return declared_tables(module, packages, self.schema_prefix)
            except Exception as exc:
                failure = import_failure(exc, self.target, self.prefix)
                if self.result.failure is None:
                    self.result.fail(failure)
                return None

    def _check_in(self, namespace: Namespace, admin: Any, before: set[str]) -> None:
        declared = self._import(namespace, admin, "activate_s")
        if declared is None:
            assert self.result.failure is not None
            self.result.add_check("activated", False, self.result.failure.render())
            return
        self.result.add_check(
            "activated", True, f"{self.target.modules[0]} imported with prefix {self.schema_prefix}"
        )
        with self.timer("catalog_s"):
            tables = self.backend.read_catalog(admin, self.prefix)
            after = self.backend.all_schemas(admin)
        self.result.tables = tables
        self.result.schemas = sorted(
            {t.schema for t in tables}
            | {schema[len(self.schema_prefix) :] for schema in namespace.schemas()}
        )
        present = {t.full_name for t in tables}
        missing = sorted(declared - present)
        undeclared = sorted(present - declared)
        problems = []
        if missing:
            problems.append("missing: " + ", ".join(missing))
        if undeclared:
            problems.append("not declared by the pipeline's classes: " + ", ".join(undeclared))
        self.result.add_check(
            "declared_all",
            not problems and bool(tables),
            "; ".join(problems)
            or (
                f"{len(tables)} table(s) in {len(self.result.schemas)} schema(s)"
                if tables
                else f"the pipeline declared no table under its prefix {self.schema_prefix}"
            ),
        )
        outside = registry.unclaimed_schemas(
            self.backend, admin, after - before - set(namespace.schemas())
        )
        if outside and self.result.failure is None:
            self.result.fail(
                Failure(
                    FailureClass.NAMESPACE_VIOLATION,
                    f"{self.target.modules[0]} created schema(s) outside its prefix: "
                    + ", ".join(outside),
                    module=self.target.modules[0],
                    hint='name every schema db_prefix + "<name>", the prefix read from '
                    'dj.config["custom"]["database.prefix"]',
                )
            )
        self.result.add_check(
            "namespace_confined",
            not outside,
            "created outside the namespace: " + ", ".join(outside)
            if outside
            else f"every schema is {self.schema_prefix}*",
        )
        if self.options.reactivate:
            again = self._import(namespace, admin, "reactivate_s")
            changed = again is None or self.backend.read_catalog(admin, self.prefix) != tables
            self.result.add_check(
                "reactivation_idempotent",
                not changed,
                "importing the pipeline again changed the catalog"
                if changed
                else "importing the pipeline again changed nothing",
            )
        self.result.add_check(
            "data_roundtrip", None, "not run for a pipeline module (its Elements' checks do)"
        )
        self._check_manifest(tables)

    def _check_manifest(self, tables: list[Table]) -> None:
        if self.result.status != Status.PASSED:
            self.result.add_check("manifest_match", None, "not compared: the check failed")
            return
        manifest = build_manifest(self.target.name, None, compat.major_version(), tables, {})
        path, found = pipeline_manifest(self.target, self.options.manifest_dir, self.backend.name)
        shown = resources.shown_path(path)
        if self.options.update_manifests:
            write_manifest(manifest, path)
            self.result.add_check("manifest_match", True, f"manifest written to {shown}")
            return
        if found is None:
            self.result.add_check(
                "manifest_match",
                None,
                f"no manifest at {shown}; review and commit one written by --update-manifests",
            )
            return
        try:
            expected = load_manifest(found)
        except HarnessError as exc:
            self.result.add_check("manifest_match", False, str(exc))
            return
        changes = diff_manifests(expected, manifest)
        self.result.add_check(
            "manifest_match",
            not changes,
            f"differs from {resources.shown_path(found)}:\n{render_diff(changes)}\n"
            "  hint: if the change is intended, run with --update-manifests, review the "
            "manifest and commit it; otherwise fix the pipeline"
            if changes
            else f"matches {resources.shown_path(found)}",
        )
