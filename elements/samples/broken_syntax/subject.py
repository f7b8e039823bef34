"""Subjects: a valid module beside the broken one."""

import datajoint as dj

schema = dj.Schema()


def activate(schema_name, *, create_schema=True, create_tables=True):
    """Declare the subject table."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Subject(dj.Manual):
    definition = """
    subject: varchar(16)
    """
