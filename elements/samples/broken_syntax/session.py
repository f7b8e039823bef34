"""Sessions: contains a syntax error on purpose (see the package docstring)."""

import datajoint as dj

from . import subject

schema = dj.Schema()


def activate(session_schema_name, subject_schema_name=None, *, create_schema=True, create_tables=True):
    subject.activate(subject_schema_name, create_schema=create_schema, create_tables=create_tables)
    schema.activate(session_schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Session(dj.Manual):
    definition = ("""
    -> subject.Subject
    session_id: int
    """
