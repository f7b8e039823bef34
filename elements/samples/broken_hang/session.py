"""Sessions whose module never finishes importing."""

import time

import datajoint as dj

schema = dj.Schema()

time.sleep(3600)


def activate(schema_name, create_schema=True, create_tables=True):
    """Declare the table (the module misbehaved before, at import)."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Session(dj.Manual):
    definition = """
    session_id: int
    """
