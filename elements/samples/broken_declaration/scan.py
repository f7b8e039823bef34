"""Scans of a session; the second table's definition has a broken line."""

import importlib
import inspect

import datajoint as dj

schema = dj.Schema()

_linking_module = None


def activate(schema_name, *, create_schema=True, create_tables=True, linking_module=None):
    """Declare the tables (upstream ``Session`` from the linking module)."""
    if isinstance(linking_module, str):
        linking_module = importlib.import_module(linking_module)
    assert inspect.ismodule(linking_module), "linking_module must be a module or its name"
    global _linking_module
    _linking_module = linking_module
    schema.activate(
        schema_name,
        create_schema=create_schema,
        create_tables=create_tables,
        add_objects=linking_module.__dict__,
    )


@schema
class Scan(dj.Manual):
    definition = """
    -> Session
    scan_id: int
    ---
    scan_notes='': varchar(1024)
    """


@schema
class ScanInfo(dj.Imported):
    definition = """
    -> Scan
    ---
    frame_rate: float              # Hz
    bad attribute line without colon
    frame_count: int
    """

    def make(self, key):
        raise NotImplementedError
