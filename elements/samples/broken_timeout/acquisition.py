"""Acquisition whose activate never returns."""

import time

import datajoint as dj

schema = dj.Schema()

#: Seconds activate() blocks: far beyond any sensible check timeout.
BLOCK_SECONDS = 3600


def activate(schema_name, *, create_schema=True, create_tables=True, linking_module=None):
    """Block first (the failure), then activate if ever reached."""
    time.sleep(BLOCK_SECONDS)
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Acquisition(dj.Manual):
    definition = """
    acquisition_id: int
    """
