"""Users of the lab: the module ``session`` references (with a typo)."""

import datajoint as dj

schema = dj.Schema()


def activate(schema_name, *, create_schema=True, create_tables=True):
    """Declare the user table."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class User(dj.Lookup):
    definition = """
    user: varchar(32)
    """
    contents = (("alice",), ("bob",))
