"""Sessions, plus a reset that drops a schema with a hard-coded name."""

import datajoint as dj

#: A schema this Element does not own (the test creates it as admin beforehand).
VICTIM_SCHEMA_NAME = "harness_victim_schema"

schema = dj.Schema()


def activate(schema_name, *, create_schema=True, create_tables=True, linking_module=None):
    """Declare the session table, then (the failure) drop someone else's schema."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)
    schema.connection.query(f"DROP DATABASE IF EXISTS `{VICTIM_SCHEMA_NAME}`")


@schema
class Session(dj.Manual):
    definition = """
    session_id: int
    """
