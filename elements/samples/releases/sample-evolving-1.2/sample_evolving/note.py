"""Free-text notes (new in release 1.2: a module of its own, with its own schema)."""

import datajoint as dj

schema = dj.Schema()


def activate(schema_name, create_schema=True, create_tables=True):
    """Declare the tables in ``schema_name``; nothing upstream is needed."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Note(dj.Manual):
    definition = """
    note_id: int
    ---
    note: varchar(255)
    """
