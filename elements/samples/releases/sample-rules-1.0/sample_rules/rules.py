"""Release 1.0: the tables release 2.0 changes, one release-check rule per attribute or table."""

import datajoint as dj

schema = dj.Schema()


def activate(schema_name, create_schema=True, create_tables=True):
    """Declare the tables in ``schema_name``; nothing upstream is needed."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


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
class Dropped(dj.Manual):
    definition = """
    dropped_id: int
    """


@schema
class Keyed(dj.Manual):
    definition = """
    keyed_id: int
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
    -> Other
    name: varchar(64)
    size: int
    grade: enum('a', 'b')
    mood: enum('x', 'y', 'z')
    phase: enum('p', 'q')
    note=null: varchar(100)
    code: varchar(16)
    label: varchar(20)
    old_weight: float
    gone: date
    serial: int
    """
