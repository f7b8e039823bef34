"""Free-form notes stored as JSON documents."""

import datajoint as dj

schema = dj.Schema()

INT = "int32" if int(dj.__version__.split(".")[0]) >= 2 else "int"


def activate(schema_name, *, create_schema=True, create_tables=True):
    """Declare the tables in ``schema_name``."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Note(dj.Manual):
    definition = f"""
    note_id: {INT}
    ---
    body: json
    extra=null: json
    """
