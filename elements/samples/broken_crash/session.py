"""Sessions whose activate crashes the interpreter."""

import ctypes

import datajoint as dj

schema = dj.Schema()


def activate(schema_name, create_schema=True, create_tables=True):
    """Misbehave first (the failure), then declare the table if ever reached."""
    ctypes.string_at(0)
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Session(dj.Manual):
    definition = """
    session_id: int
    """
