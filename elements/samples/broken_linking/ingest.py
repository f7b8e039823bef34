"""Ingestion whose root-directory function is looked up by a computed name."""

import importlib
import inspect

import datajoint as dj

schema = dj.Schema()

_linking_module = None
_get_raw_dir = None

#: Which kind of directory this module reads, in the linking function's name.
DATA_KIND = "raw"


def activate(schema_name, *, create_schema=True, create_tables=True, linking_module=None):
    """Fetch ``get_<DATA_KIND>_dir`` from the linking module, then declare the tables."""
    if isinstance(linking_module, str):
        linking_module = importlib.import_module(linking_module)
    assert inspect.ismodule(linking_module), "linking_module must be a module or its name"
    global _linking_module, _get_raw_dir
    _linking_module = linking_module
    # The failure: AttributeError when the linking module lacks get_raw_dir.
    _get_raw_dir = getattr(linking_module, "get_" + DATA_KIND + "_dir")
    schema.activate(
        schema_name,
        create_schema=create_schema,
        create_tables=create_tables,
        add_objects=linking_module.__dict__,
    )


@schema
class RawFile(dj.Manual):
    definition = """
    -> Session
    file_name: varchar(255)        # relative to get_raw_dir()
    """
