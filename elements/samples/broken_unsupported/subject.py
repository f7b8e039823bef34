"""Subjects, declared with the 0.x-only ``dj.schema`` alias."""

import datajoint as dj

schema = dj.schema()  # the failure on DataJoint 2.x: no `schema` alias any more


def activate(schema_name, *, create_schema=True, create_tables=True):
    """Declare the subject table."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Subject(dj.Manual):
    definition = """
    subject: varchar(16)
    ---
    sex='U': enum('M', 'F', 'U')
    """
