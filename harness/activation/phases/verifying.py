"""Verify phase: the server's catalog against DataJoint's view, the namespace, the manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.activation import compat
from harness.activation.discovery import LoadedModule
from harness.activation.failures import Failure, FailureClass
from harness.activation.phases.base import MOCK_STEM, UPSTREAM_STEM_PREFIX, CheckContext, Timer
from harness.activation.phases.cataloging import DataJointView
from harness.db import registry
from harness.db.catalog import Table
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
from harness.results import Status


def _is_own_schema(stem: str) -> bool:
    """Whether a schema stem is the Element's (not the mocks', not a real upstream's)."""
    return stem != MOCK_STEM and not stem.startswith(UPSTREAM_STEM_PREFIX)


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def verify(
    context: CheckContext,
    admin: Any,
    before: set[str],
    all_loaded: list[LoadedModule],
    view: DataJointView,
    catalog: list[Table] | None,
    timer: Timer,
    *,
    manifest_dir: Path | None,
    update_manifests: bool,
) -> None:
    """Record ``declared_all``, ``references_resolved``, ``namespace_confined``, ``manifest_match``.

    ``catalog`` is the reactivation's read when no caller code ran since; None reads it.
    """
    result, prefix, namespace = context.result, context.prefix, context.namespace
    assert namespace is not None
    with timer("catalog_s"):
        if catalog is None:
            catalog = context.backend.read_catalog(admin, prefix)
        after = context.backend.all_schemas(admin)
    with timer("verify_s"):
        element_tables = [table for table in catalog if _is_own_schema(table.schema)]
        result.tables = element_tables
        result.schemas = sorted(
            {table.schema for table in element_tables}
            | {
                context.stem(schema)
                for schema in namespace.schemas()
                if _is_own_schema(context.stem(schema))
            }
        )
        present = {(table.schema, table.name) for table in catalog}
        missing = []
        for loaded in all_loaded:
            for queued in loaded.tables:
                database = getattr(queued.cls, "database", None)
                stem = context.stem(database) if database else "?"
                if (stem, queued.name) not in present:
                    missing.append(f"{loaded.source.name}.{queued.name}")
        declared = {
            context.stem(getattr(queued.cls, "database", "") or "") + "." + queued.name
            for loaded in all_loaded
            for queued in loaded.tables
        }
        undeclared = sorted(t.full_name for t in element_tables if t.full_name not in declared)
        problems = []
        if missing:
            problems.append("missing: " + ", ".join(missing))
        if undeclared:
            # Created behind DataJoint's back (or by code outside the table classes).
            problems.append("not declared by the Element: " + ", ".join(undeclared))
        problems += _disagreements_with_datajoint(view, element_tables)
        result.add_check(
            "declared_all",
            not problems,
            "; ".join(problems)
            if problems
            else f"{len(element_tables)} table(s) in {len(result.schemas)} schema(s)",
        )
        mocked = ", ".join(sorted(result.mocked_tables)) or "none"
        result.add_check("references_resolved", True, f"mocked upstream: {mocked}")
        outside = registry.unclaimed_schemas(
            context.backend, admin, after - before - set(namespace.schemas())
        )
        if outside and result.failure is None:
            # Backends that cannot refuse it up front (PostgreSQL) are caught here.
            result.fail(
                Failure(
                    FailureClass.NAMESPACE_VIOLATION,
                    f"{context.target.package} created schema(s) outside its namespace "
                    f"{prefix}_*: {', '.join(outside)}",
                    module=context.target.package,
                    hint="derive every schema name from the activate() arguments",
                )
            )
        result.add_check(
            "namespace_confined",
            not outside,
            "created outside the namespace: " + ", ".join(outside)
            if outside
            else f"every schema is {prefix}_*",
        )
        _check_manifest(context, element_tables, manifest_dir, update_manifests)


def _disagreements_with_datajoint(view: DataJointView, tables: list[Table]) -> list[str]:
    """Where the server's catalog and DataJoint's graph or headings disagree."""
    problems = []
    for table in tables:
        seen = view.get(table.full_name)
        if seen is None:
            continue
        primary_key, names, parent_schemas = seen
        on_server = {a.name for a in table.attributes if not a.name.startswith("_")}
        if primary_key is not None and primary_key != sorted(table.primary_key):
            problems.append(
                f"{table.full_name}: DataJoint's primary key ({', '.join(primary_key)}) "
                f"differs from the server's ({', '.join(sorted(table.primary_key))})"
            )
        if names is not None and names != on_server:
            problems.append(
                f"{table.full_name}: DataJoint's heading ({', '.join(sorted(names))}) "
                f"differs from the server's ({', '.join(sorted(on_server))})"
            )
        catalog_parents = {fk.parent.split(".", 1)[0] for fk in table.foreign_keys}
        if parent_schemas - catalog_parents:
            problems.append(
                f"{table.full_name}: DataJoint's dependency graph has parents in "
                f"{', '.join(sorted(parent_schemas - catalog_parents))} that the server's "
                "foreign keys lack"
            )
    return problems


def _manifest_dirs(context: CheckContext, manifest_dir: Path | None) -> tuple[Path, ...]:
    default = Path.cwd() / "elements" / "manifests"
    spec_path = getattr(context.target.spec, "path", None)
    if spec_path is not None:
        for parent in Path(spec_path).resolve().parents:
            if parent.name == "elements":
                default = parent / "manifests"
                break
    return manifest_dirs(manifest_dir, default, fall_back=spec_path is not None)


def _check_manifest(
    context: CheckContext, tables: list[Table], manifest_dir: Path | None, update: bool
) -> None:
    """Compare the catalog with the reviewed manifest (or write it when asked)."""
    result, target = context.result, context.target
    if result.status != Status.PASSED:
        result.add_check("manifest_match", None, "not compared: the check failed")
        return
    manifest = build_manifest(
        target.name, result.version, compat.major_version(), tables, result.mocked_tables
    )
    path, found = find_manifest(
        target.name,
        result.version,
        compat.major_version(),
        _manifest_dirs(context, manifest_dir),
        context.backend.name,
    )
    shown = _relative(path)
    if update:
        write_manifest(manifest, path)
        result.add_check("manifest_match", True, f"manifest written to {shown}")
        return
    if found is None:
        result.add_check(
            "manifest_match",
            None,
            f"no manifest at {shown}; review and commit one written by --update-manifests",
        )
        return
    if found != path:  # a spec's reviewed manifest, none in --manifest-dir
        shown = f"{_relative(found)} (none in {_relative(path.parent)})"
    try:
        expected = load_manifest(found)
    except HarnessError as exc:
        result.add_check("manifest_match", False, str(exc))
        return
    if target.spec is None and target.modules:
        # One module of an Element: compare with its part of the Element's manifest.
        expected = {
            **expected,
            "tables": [
                table
                for table in expected.get("tables", [])
                if table.get("schema") in set(manifest["schemas"])
            ],
        }
    changes = diff_manifests(expected, manifest)
    result.add_check(
        "manifest_match",
        not changes,
        f"differs from {shown}:\n{render_diff(changes)}\n"
        "  hint: if the change is intended, run with --update-manifests, review the "
        "manifest and commit it; otherwise fix the Element"
        if changes
        else f"matches {shown}",
    )
