"""Conversion script turned module: it parses the command line at import."""

import argparse

import datajoint as dj

schema = dj.Schema()

parser = argparse.ArgumentParser(prog="convert-session")
parser.add_argument("raw_file", help="the raw recording to convert")
ARGUMENTS = parser.parse_args()


def activate(schema_name, create_schema=True, create_tables=True):
    """Declare the table (the module misbehaved before, at import)."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Session(dj.Manual):
    definition = """
    session_id: int
    """
