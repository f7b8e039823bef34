"""What the target should hold for one Element: its manifest, placed and linked.

A manifest records a release as checked in an isolated namespace, with schema
stems (``session``) and mocked upstream tables (``mock.Subject`` keyed by
``subject_id: int``). On the target the schemas have the lab's names and the
upstream tables are real (``subject: varchar(8)`` of element-animal), which
changes every attribute a foreign key brings in, in the referencing table and
down its dependents. :func:`expected_tables` rewrites the manifest the way
DataJoint's declaration would: attributes inherited through a foreign key take
the parent's primary key (name, type and comment; no default; nullable as the
reference is). Nothing else is touched, so a diff against the live catalog
shows exactly what the lab's tables differ in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harness.db.catalog import Attribute, ForeignKey, Table
from harness.errors import ConfigurationError

MOCK_STEM = "mock"


def full_name(table: Table) -> str:
    """``schema.Class`` as foreign keys and diffs name a table."""
    return f"{table.schema}.{table.name}"


def _attribute(raw: Mapping[str, Any]) -> Attribute:
    return Attribute(
        raw["name"],
        raw["type"],
        raw["nullable"],
        raw.get("default"),
        raw.get("comment", ""),
        raw.get("core_type"),
        charset=raw.get("charset"),
        collation=raw.get("collation"),
    )


def _key_signature(table: Table) -> list[tuple[str, str]]:
    types = {a.name: a.type for a in table.attributes}
    return [(name, types.get(name, "")) for name in table.primary_key]


class _Rewriter:
    """Builds the expected tables of one manifest, parents before children."""

    def __init__(
        self,
        manifest: Mapping[str, Any],
        schemas: Mapping[str, str],
        upstream: Callable[[str], Table],
        element: str,
    ) -> None:
        self.schemas = schemas
        self.upstream = upstream
        self.element = element
        self.raw = {
            f"{t['schema']}.{t['name']}": t for t in manifest["tables"] if t["schema"] in schemas
        }
        self.done: dict[str, Table] = {}
        self.changed: set[str] = set()
        #: Per built table: old attribute name -> the names it became (for its children).
        self.renamed: dict[str, dict[str, list[str]]] = {}

    def parent(self, name: str, child: str) -> tuple[Table, bool]:
        """The real parent of a reference and whether its key differs from the manifest's."""
        stem, _, class_name = name.partition(".")
        if stem == MOCK_STEM:
            return self.upstream(class_name), True
        if name in self.raw:
            return self.build(name), name in self.changed
        raise ConfigurationError(
            f"{self.element}: {child} references {name}, whose schema {stem!r} has no "
            "target schema in the pipeline",
            hint=f'add {stem} = "<schema>" to the entry\'s schemas',
        )

    def build(self, key: str) -> Table:
        if key in self.done:
            return self.done[key]
        raw = self.raw[key]
        attributes = [_attribute(a) for a in raw["attributes"]]
        in_key = set(raw["primary_key"])
        order = [a.name for a in attributes]
        #: Old attribute -> the attributes it becomes: (name, parent attribute, nullable).
        becomes: dict[str, list[tuple[str, Attribute, bool]]] = {}
        foreign_keys: list[ForeignKey] = []
        for fk in raw["foreign_keys"]:
            parent, changed = self.parent(fk["parent"], key)
            mapping: dict[str, str] = dict(fk["attributes"])
            if changed:
                by_name = {a.name: a for a in parent.attributes}
                nullable = bool(fk["nullable"])
                if all(child == source for child, source in mapping.items()):
                    old = sorted(mapping, key=order.index)
                    if fk["parent"].startswith(MOCK_STEM + "."):
                        # A mock's key (``subject_id``) becomes the real parent's whole key.
                        renamed = {name: [] for name in old}
                        renamed[old[0]] = list(parent.primary_key)
                    else:
                        renamed = self.renamed[fk["parent"]]
                    for child in old:
                        becomes.setdefault(
                            child,
                            [(n, by_name[n], nullable) for n in renamed.get(child, [child])],
                        )
                    mapping = {name: name for name in parent.primary_key}
                else:
                    mapping = self._remap(key, fk, parent)
                    for child, source in mapping.items():
                        becomes.setdefault(child, [(child, by_name[source], nullable)])
            foreign_keys.append(
                ForeignKey(parent=full_name(parent), attributes=mapping, nullable=fk["nullable"])
            )
        emitted: dict[str, Attribute] = {}
        primary: list[str] = []
        renamed_here: dict[str, list[str]] = {}
        for attribute in attributes:
            if attribute.name not in becomes:
                new = [(attribute.name, attribute)]
            else:
                new = [
                    (name, Attribute(name, src.type, nullable, None, src.comment, None))
                    for name, src, nullable in becomes[attribute.name]
                ]
            renamed_here[attribute.name] = [name for name, _ in new]
            for name, item in new:
                if name in emitted:
                    continue
                emitted[name] = item
                if attribute.name in in_key:
                    primary.append(name)
        self.renamed[key] = renamed_here
        table = Table(
            schema=self.schemas[raw["schema"]],
            name=raw["name"],
            tier=raw["tier"],
            master=raw["master"],
            primary_key=primary,
            attributes=list(emitted.values()),
            foreign_keys=sorted(
                foreign_keys, key=lambda f: (f.parent, sorted(f.attributes.items()))
            ),
        )
        before = Table(raw["schema"], raw["name"], raw["tier"], raw["master"], list(in_key))
        before.primary_key = list(raw["primary_key"])
        before.attributes = attributes
        if _key_signature(table) != _key_signature(before):
            self.changed.add(key)
        self.done[key] = table
        return table

    def _remap(self, key: str, fk: Mapping[str, Any], parent: Table) -> dict[str, str]:
        """Child attribute -> parent attribute of a reference to a real (not mocked) parent."""
        mapping: dict[str, str] = dict(fk["attributes"])
        if all(child == source for child, source in mapping.items()):
            # ``-> Subject``: the child takes the parent's whole primary key, as named there.
            return {name: name for name in parent.primary_key}
        # ``-> Subject.proj(donor='subject')``: renamed attributes must be the parent's key.
        if sorted(mapping.values()) != sorted(parent.primary_key):
            raise ConfigurationError(
                f"{self.element}: {key} references {full_name(parent)} with renamed attributes "
                f"{sorted(mapping.values())}, but its primary key is {parent.primary_key}",
                hint="the upstream table given for this Element has a different primary key",
            )
        order = {name: i for i, name in enumerate(parent.primary_key)}
        return dict(sorted(mapping.items(), key=lambda item: order[item[1]]))


def expected_tables(
    manifest: Mapping[str, Any],
    schemas: Mapping[str, str],
    upstream: Callable[[str], Table],
    element: str,
) -> list[Table]:
    """The tables ``manifest`` declares in the stems of ``schemas``, as the target should hold them.

    ``schemas`` maps manifest stems to target schema names (stems left out are not
    deployed); ``upstream`` returns the real table a mocked upstream name stands for.
    """
    rewriter = _Rewriter(manifest, schemas, upstream, element)
    return sorted(
        (rewriter.build(key) for key in sorted(rewriter.raw)), key=lambda t: (t.schema, t.name)
    )
