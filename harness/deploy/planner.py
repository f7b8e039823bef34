"""The deploy plan: what to create, what is there and matches, what has drifted.

Built from three things only: the live catalog of the target schemas (read
with ``SELECT`` on ``information_schema``), each Element release's manifest
rewritten for the target (:mod:`harness.deploy.expected`) and the imported
Element classes (for the DDL, :mod:`harness.deploy.ddl`). Computing a plan
never writes to the server; apply recomputes it before and after activating.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from harness import resources
from harness.db.backends.base import Backend
from harness.db.catalog import Table
from harness.deploy import ddl
from harness.deploy.expected import expected_tables, full_name
from harness.deploy.live import existing_schemas, read_schemas
from harness.deploy.pipeline import LoadedElement
from harness.errors import ConfigurationError
from harness.manifest import Change, diff_manifests

CREATE, MATCH, DRIFT = "create", "match", "drift"


@dataclass
class TablePlan:
    """One table of the pipeline on the target."""

    table: Table
    status: str
    changes: list[Change] = field(default_factory=list)
    ddl: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return full_name(self.table)


@dataclass
class ElementPlan:
    """One Element's share of the plan."""

    label: str
    manifest: str
    schemas_to_create: list[str]
    tables: list[TablePlan]
    #: Tables in the Element's schemas that its release does not declare (additive drift).
    extra: list[TablePlan] = field(default_factory=list)
    #: The statements creating ``schemas_to_create`` on this kind of server.
    schema_ddl: list[str] = field(default_factory=list)

    def with_status(self, status: str) -> list[TablePlan]:
        return [t for t in [*self.tables, *self.extra] if t.status == status]


@dataclass
class DeployPlan:
    """The whole pipeline's plan; ``elements`` in activation order."""

    elements: list[ElementPlan]

    def all(self, status: str) -> list[TablePlan]:
        return [t for element in self.elements for t in element.with_status(status)]

    @property
    def schemas_to_create(self) -> list[str]:
        return [s for element in self.elements for s in element.schemas_to_create]

    @property
    def drift(self) -> list[Change]:
        return [c for t in self.all(DRIFT) for c in t.changes]

    @property
    def nothing_to_do(self) -> bool:
        return not self.schemas_to_create and not self.all(CREATE)


def is_additive(change: Change, live: dict[str, Table]) -> bool:
    """``+ table`` and ``+ attribute`` that is nullable or has a default: inserts still work."""
    if change.op != "+":
        return False
    if change.kind == "table":
        return True
    if change.kind != "attribute":
        return False
    table_name, _, attribute = change.subject.rpartition(".")
    table = live.get(table_name)
    found = next((a for a in table.attributes if a.name == attribute), None) if table else None
    return found is not None and (found.nullable or found.default is not None)


def creation_order(tables: list[Table]) -> list[Table]:
    """Parents before children (the order DataJoint declares them in), else by name."""
    by_name = {full_name(t): t for t in tables}
    ordered: list[Table] = []
    seen: set[str] = set()

    def visit(table: Table) -> None:
        if full_name(table) in seen:
            return
        seen.add(full_name(table))
        for fk in table.foreign_keys:
            if fk.parent in by_name:
                visit(by_name[fk.parent])
        ordered.append(table)

    for table in sorted(tables, key=full_name):
        visit(table)
    return ordered


def _table_diff(expected: Table, live: Table) -> list[Change]:
    return diff_manifests({"tables": [expected.to_dict()]}, {"tables": [live.to_dict()]})


class Planner:
    """Computes :class:`DeployPlan` for loaded Elements against one live server."""

    def __init__(self, backend: Backend, connection: Any, elements: list[LoadedElement]) -> None:
        self.backend = backend
        self.connection = connection
        self.elements = elements
        self.live: dict[str, Table] = {}
        self.live_sql: dict[str, str] = {}  # quoted full SQL name -> "schema.Class"
        self._read_live([s for e in elements for s in e.schemas.values()])
        #: id(class) -> (expected or live table, its SQL name): what stand-ins are made of.
        self.registry: dict[int, tuple[Table, str]] = {}
        self.expected: dict[str, list[Table]] = {}

    def _read_live(self, schemas: Iterable[str]) -> None:
        wanted = [s for s in schemas if not any(t.schema == s for t in self.live.values())]
        tables = read_schemas(self.backend, self.connection, wanted)
        names = ddl.sql_names(tables)
        for table in tables:
            self.live[full_name(table)] = table
            quoted = ddl.quoted_name(self.backend, table, names[(table.schema, table.name)])
            self.live_sql[quoted] = full_name(table)

    # -- upstream tables -------------------------------------------------------------------

    def _known(self, cls: Any) -> tuple[Table, str] | None:
        """The table behind a class: an Element's (expected) or the lab's own (live)."""
        if id(cls) in self.registry:
            return self.registry[id(cls)]
        try:
            quoted = getattr(cls, "full_table_name", None)
        except Exception:  # a deferred class not activated: not a table on the target
            return None
        if not isinstance(quoted, str) or "." not in quoted:
            return None
        schema = quoted.split(".")[0].strip('`"')
        if quoted not in self.live_sql:
            self._read_live([schema])
        name = self.live_sql.get(quoted)
        if name is None:
            return None
        raw = quoted.split(".", 1)[1].strip('`"')
        return self.live[name], raw

    def _upstream(self, element: LoadedElement) -> Any:
        def resolve(name: str) -> Table:
            head, _, part = name.partition(".")
            value = element.upstream.get(head)
            if value is not None and part:
                value = getattr(value, part, None)
            known = self._known(value) if value is not None else None
            if known is None:
                raise ConfigurationError(
                    f"{element.label}: upstream table {name} resolves to nothing on the target "
                    "or earlier in the pipeline",
                    hint="create the lab's own upstream tables before deploying",
                )
            return known[0]

        return resolve

    # -- per Element -----------------------------------------------------------------------

    def _register(self, element: LoadedElement, tables: list[Table]) -> None:
        """Map the Element's classes to their expected tables (schema stem = module leaf)."""
        stem_of = {schema: stem for stem, schema in element.schemas.items()}
        names = ddl.sql_names(tables)
        for queued in element.queued():
            leaf = queued.module.rsplit(".", 1)[-1]
            candidates = [t for t in tables if t.name == queued.name]
            preferred = [t for t in candidates if stem_of.get(t.schema) == leaf]
            chosen = preferred or (candidates if len(candidates) == 1 else [])
            if chosen:
                table = chosen[0]
                self.registry[id(queued.cls)] = (table, names[(table.schema, table.name)])

    def _ddl(self, element: LoadedElement, table: Table) -> list[str]:
        for queued in element.queued():
            known = self.registry.get(id(queued.cls))
            if known is None or known[0] is not table:
                continue
            context = dict(queued.context)
            if element.linking is not None:
                context.update(vars(element.linking))
            if queued.part_of:
                master = context.get(queued.part_of)
                context.update(master=master, self=queued.cls)
            else:
                context.update({"self": queued.cls, queued.cls.__name__: queued.cls})
            definition = queued.definition or str(getattr(queued.cls(), "definition", ""))

            def lookup(value: Any) -> Any:
                found = self._known(value)
                return ddl.standin(self.backend, *found) if found else None

            try:
                return ddl.declare_sql(
                    self.backend,
                    ddl.quoted_name(self.backend, table, known[1]),
                    table.schema,
                    definition,
                    ddl.standin_context(context, lookup),
                )
            except Exception as exc:
                return [f"-- DDL not available: {exc}"]
        return ["-- DDL not available: no class of the Element declares this table"]

    def plan_element(self, element: LoadedElement) -> ElementPlan:
        expected = expected_tables(
            element.manifest, element.schemas, self._upstream(element), element.label
        )
        self.expected[element.entry.name] = expected
        self._register(element, expected)
        present = existing_schemas(self.backend, self.connection, element.schemas.values())
        tables = []
        for table in creation_order(expected):
            live = self.live.get(full_name(table))
            if live is None:
                tables.append(TablePlan(table, CREATE, ddl=self._ddl(element, table)))
                continue
            changes = _table_diff(table, live)
            tables.append(TablePlan(table, DRIFT if changes else MATCH, changes))
        names = {full_name(t) for t in expected}
        extra = [
            TablePlan(t, DRIFT, [Change("+", "table", full_name(t))])
            for t in self.live.values()
            if t.schema in set(element.schemas.values()) and full_name(t) not in names
        ]
        manifest = element.manifest_file
        to_create = sorted(set(element.schemas.values()) - present)
        return ElementPlan(
            label=element.label,
            manifest=resources.shown_path(manifest),
            schemas_to_create=to_create,
            schema_ddl=[self.backend.create_schema_sql(schema) for schema in to_create],
            tables=tables,
            extra=sorted(extra, key=lambda t: t.name),
        )

    def plan(self) -> DeployPlan:
        return DeployPlan([self.plan_element(element) for element in self.elements])


def compute_plan(backend: Backend, connection: Any, elements: list[LoadedElement]) -> DeployPlan:
    """The plan of ``elements`` against the server behind ``connection`` (read-only)."""
    return Planner(backend, connection, elements).plan()
