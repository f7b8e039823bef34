"""What exists in a namespace, as the server's catalog describes it.

DataJoint encodes a table's tier in its name (``#lookup``, ``_imported``,
``__computed``, ``master__part``) and its class name in CamelCase, so the
server's catalog alone gives tier, class, keys and foreign keys. Schema names
are reported as stems (the namespace prefix removed) so results are portable
between runs and servers. The SQL that reads each server's catalog belongs to
its backend (:meth:`harness.db.backends.base.Backend.read_catalog`); this module
holds what they share: the table model, DataJoint's naming, type normalisation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

_INT_WIDTH = re.compile(r"^(tinyint|smallint|mediumint|int|bigint)\(\d+\)")
#: DataJoint 2.x records the declared core type at the start of the column comment.
_CORE_TYPE_MARK = re.compile(r"^:(?P<type>[^:]+):")


@dataclass
class Attribute:
    name: str
    type: str
    nullable: bool
    default: str | None
    comment: str = ""
    #: The DataJoint 2.x core type the attribute was declared with (``int32``), if recorded.
    core_type: str | None = None
    #: Character set and collation, recorded only where they differ from the schema's
    #: default (DataJoint declares neither), so that MySQL and MariaDB, whose defaults
    #: differ, still give one manifest; ``None`` means "the schema's".
    charset: str | None = None
    collation: str | None = None


@dataclass
class ForeignKey:
    parent: str  # "<stem>.<ClassName>"
    attributes: dict[str, str]  # child attribute -> parent attribute
    nullable: bool = False


@dataclass
class Table:
    schema: str  # stem
    name: str  # class name, "Master.Part" for parts
    tier: str
    master: str | None
    primary_key: list[str]
    attributes: list[Attribute] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    comment: str = ""
    #: Secondary unique indexes (``unique index (a, b)``), each its attributes in order;
    #: ``None`` where they were not read (a table built from a manifest, for instance).
    unique_indexes: list[list[str]] | None = None

    @property
    def full_name(self) -> str:
        return f"{self.schema}.{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Table:
        """The inverse of :meth:`to_dict` (for manifests and reports read back)."""
        return cls(
            schema=data["schema"],
            name=data["name"],
            tier=data["tier"],
            master=data.get("master"),
            primary_key=list(data.get("primary_key", [])),
            attributes=[Attribute(**attribute) for attribute in data.get("attributes", [])],
            foreign_keys=[ForeignKey(**fk) for fk in data.get("foreign_keys", [])],
            comment=data.get("comment", ""),
            unique_indexes=data.get("unique_indexes"),
        )


def camel_case(snake: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_") if part)


def classify_table_name(table_name: str) -> tuple[str, str, str | None] | None:
    """(class name, tier, master class) from a DataJoint table name; None for internals."""
    if table_name.startswith("~"):
        return None
    if "__" in table_name.lstrip("_#"):
        master_raw, part_raw = table_name.rsplit("__", 1)
        master = classify_table_name(master_raw)
        if master is None:
            return None
        return f"{master[0]}.{camel_case(part_raw)}", "part", master[0]
    for marker, tier in (("__", "computed"), ("_", "imported"), ("#", "lookup")):
        if table_name.startswith(marker):
            return camel_case(table_name[len(marker) :]), tier, None
    return camel_case(table_name), "manual", None


def normalize_type(column_type: str) -> str:
    """Spell equal types equally across MySQL 8, MySQL 9 and MariaDB."""
    text = column_type.strip().lower()
    text = _INT_WIDTH.sub(r"\1", text)
    return text.replace(" character set utf8mb4", "").replace(" collate utf8mb4_bin", "")


_POSTGRES_TYPES = {
    "character varying": "varchar",
    "character": "char",
    "integer": "int",
    "double precision": "double",
    "real": "float",
    "timestamp without time zone": "timestamp",
    "boolean": "bool",
}
_CAST = re.compile(r"::[a-z ]+(\([0-9, ]+\))?$")


def normalize_postgres_type(data_type: str) -> str:
    """PostgreSQL's type names in the spelling DataJoint declarations use."""
    text = data_type.strip().lower()
    if "." in text and "(" not in text:
        # DataJoint 2.x declares an enum as a type of the table's schema
        # (``<schema>.enum_<digest>``): the schema is the namespace's, not the type's.
        text = text.rsplit(".", 1)[1]
    for long, short in _POSTGRES_TYPES.items():
        if text == long or text.startswith(long + "("):
            return short + text[len(long) :]
    return text


def strip_cast(default: Any) -> Any:
    """``'abc'::character varying`` -> ``'abc'``."""
    return _CAST.sub("", default) if isinstance(default, str) else default


def normalize_default(default: Any, nullable: bool) -> str | None:
    if default is None:
        return None
    text = str(default)
    if text.upper() == "NULL":
        return None if nullable else "NULL"
    if len(text) >= 2 and text[0] == text[-1] == "'":
        text = text[1:-1]
    if text.lower() in {"current_timestamp()", "current_timestamp"}:
        return "CURRENT_TIMESTAMP"
    return text


def split_comment(comment: str | None) -> tuple[str, str | None]:
    """(comment proper, DataJoint 2.x core type recorded in it or None)."""
    text = comment or ""
    match = _CORE_TYPE_MARK.match(text)
    if match is None:
        return text, None
    return text[match.end() :].strip(), match.group("type")


def own_charset(
    charset: str | None,
    collation: str | None,
    schema_collation: str | None,
    schema_charset: str | None,
    collation_is_default: str | None,
) -> tuple[str | None, str | None]:
    """A column's (charset, collation) where it departs from its schema's default, else None.

    DataJoint declares neither, so a column has its schema's unless something
    altered it; comparing with the schema's default (not the server's) keeps
    MySQL's and MariaDB's different defaults out of manifests. The charset is kept
    when it is not the schema's; the collation when it is neither the schema's nor
    the default of the column's own charset (``character set latin1`` alone gets
    latin1's default collation, which is no separate choice).
    """
    if charset is None or collation is None:  # not a text column
        return None, None
    own = charset if charset != schema_charset else None
    chosen = collation != schema_collation and (own is None or collation_is_default != "Yes")
    return own, (collation if chosen else None)


def stem_of(schema: str, prefix: str) -> str:
    return schema[len(prefix) + 1 :] if schema.startswith(prefix + "_") else schema


Rows = Any  # an iterable of tuples from a DB-API cursor
NameOf = Callable[[str], str]


def tables_from_rows(rows: Rows, name_of: NameOf) -> dict[tuple[str, str], Table]:
    """Rows of (schema, table name, comment) -> tables keyed by (schema, table name)."""
    tables: dict[tuple[str, str], Table] = {}
    for schema, name, comment in rows:
        described = classify_table_name(name)
        if described is None:
            continue
        class_name, tier, master = described
        tables[(schema, name)] = Table(
            schema=name_of(schema),
            name=class_name,
            tier=tier,
            master=master,
            primary_key=[],
            comment=comment or "",
        )
    return tables


def attach_foreign_keys(tables: dict[tuple[str, str], Table], rows: Rows, name_of: NameOf) -> None:
    """Rows of (schema, table, constraint, column, parent schema, parent table, parent
    column), ordered by constraint and position -> grouped foreign keys, sorted."""
    grouped: dict[tuple[str, str, str], ForeignKey] = {}
    for schema, name, constraint, column, parent_schema, parent_table, parent_column in rows:
        table = tables.get((schema, name))
        parent = classify_table_name(parent_table)
        if table is None or parent is None:
            continue
        key = (schema, name, constraint)
        if key not in grouped:
            grouped[key] = ForeignKey(parent=f"{name_of(parent_schema)}.{parent[0]}", attributes={})
            table.foreign_keys.append(grouped[key])
        grouped[key].attributes[column] = parent_column
        if any(a.name == column and a.nullable for a in table.attributes):
            grouped[key].nullable = True
    for table in tables.values():
        table.foreign_keys.sort(key=lambda fk: (fk.parent, sorted(fk.attributes.items())))


def attach_unique_indexes(tables: dict[tuple[str, str], Table], rows: Rows) -> None:
    """Rows of (schema, table, index, column), ordered by index and position -> sorted lists."""
    unique: dict[tuple[str, str], dict[str, list[str]]] = {}
    for schema, name, index, column in rows:
        if (schema, name) in tables:
            unique.setdefault((schema, name), {}).setdefault(index, []).append(column)
    for key, table in tables.items():
        table.unique_indexes = sorted(unique.get(key, {}).values())


def with_foreign_keys(
    tables: dict[tuple[str, str], Table], rows: Rows, name_of: NameOf
) -> list[Table]:
    """The tables, their foreign keys attached from ``rows``, sorted by schema and name."""
    attach_foreign_keys(tables, rows, name_of)
    return sorted(tables.values(), key=lambda t: (t.schema, t.name))
