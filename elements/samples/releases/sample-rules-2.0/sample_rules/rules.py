"""Release 2.0: every change a release check classifies, against release 1.0.

DataJoint declares no character set or collation, so this release, like an
Element that converts its own tables, sets them with ``ALTER TABLE`` in
``activate``: ``Item.code`` gets another character set, ``Item.label`` (outside
every key) and ``Code.code`` (the primary key) the binary collation of theirs.
"""

import datajoint as dj

schema = dj.Schema()


def activate(schema_name, create_schema=True, create_tables=True):
    """Declare the tables in ``schema_name``, then convert three columns."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)
    charset = schema.connection.query(
        "SELECT default_character_set_name FROM information_schema.schemata "
        "WHERE schema_name = %s",
        args=(schema.database,),
    ).fetchone()[0]
    other = "utf8mb4" if charset == "latin1" else "latin1"
    _modify(Item, "code", f"CHARACTER SET {other}")
    _modify(Item, "label", f"COLLATE {charset}_bin")
    _modify(Code, "code", f"COLLATE {charset}_bin")


def _modify(table, column, clause):
    """``MODIFY`` one column keeping its type, NOT NULL and comment (idempotent)."""
    connection, database = schema.connection, schema.database
    name = table.table_name
    column_type, comment = connection.query(
        "SELECT column_type, column_comment FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s AND column_name = %s",
        args=(database, name, column),
    ).fetchone()
    connection.query(
        f"ALTER TABLE `{database}`.`{name}` MODIFY `{column}` {column_type} {clause} "
        "NOT NULL COMMENT %s",
        args=(comment,),
    )


@schema
class Parent(dj.Manual):
    definition = """
    parent_id: int
    """


@schema
class Other(dj.Manual):
    definition = """
    other_id: int
    """


@schema
class Added(dj.Manual):
    definition = """
    added_id: int
    """


@schema
class Keyed(dj.Manual):
    definition = """
    keyed_id: int
    keyed_no: int
    ---
    keyed_note='': varchar(8)
    """


@schema
class Code(dj.Manual):
    definition = """
    code: varchar(8)
    """


@schema
class Item(dj.Manual):
    definition = """
    item_id: int
    ---
    -> Parent
    other_id: int
    name: varchar(32)
    size: bigint
    grade: enum('a', 'b', 'c')
    mood: enum('x', 'y')
    phase: enum('q', 'p')
    note: varchar(100)
    code: varchar(16)
    label: varchar(20)
    new_weight: float
    serial: int
    extra=null: varchar(8)
    required: smallint
    counted=0: int
    unique index (serial)
    """
