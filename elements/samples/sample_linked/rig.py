"""Rigs of a lab: the tables ``assay`` expects from its linking module."""

import datajoint as dj

schema = dj.Schema()


def activate(schema_name, *, create_schema=True, create_tables=True):
    """Activate this module's schema (it needs nothing upstream)."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Rig(dj.Lookup):
    definition = """
    rig: varchar(16)  # rig name
    ---
    rig_room='': varchar(32)
    """
