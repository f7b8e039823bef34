"""Sessions whose activate changes process-wide state."""

import os
import tempfile

import datajoint as dj

schema = dj.Schema()


def activate(schema_name, create_schema=True, create_tables=True):
    """Misbehave first (the failure), then declare the table if ever reached."""
    os.chdir(tempfile.gettempdir())
    dj.config["display.limit"] = 7
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Session(dj.Manual):
    definition = """
    session_id: int
    """
