"""Recordings whose samples live in a bare ``longblob``, written the DataJoint 0.14 way."""

import datajoint as dj

schema = dj.Schema()


def activate(schema_name, *, create_schema=True, create_tables=True):
    """Declare the tables in ``schema_name``."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Recording(dj.Manual):
    definition = """
    recording_id: smallint
    ---
    samples: longblob               # 0.14 serialises arrays into it; 2.x does not
    """


@schema
class Schedule(dj.Manual):
    definition = """
    -> Recording
    ---
    starts_at: time                 # no synthesized value for this type
    """
