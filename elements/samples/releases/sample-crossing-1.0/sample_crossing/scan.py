"""Scans and their traces, as written for DataJoint 0.14 (``longblob``, native integers)."""

import datajoint as dj

schema = dj.Schema()


def activate(schema_name, create_schema=True, create_tables=True):
    """Declare the tables in ``schema_name``; nothing upstream is needed."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Rig(dj.Lookup):
    definition = """
    rig: varchar(16)
    ---
    rig_description='': varchar(255)
    """
    contents = (("r1", "first rig"),)


@schema
class Scan(dj.Manual):
    definition = """
    scan_id: int
    ---
    -> Rig
    scan_uuid: uuid
    settings=null: json
    calibrated: bool
    trace: longblob
    """
