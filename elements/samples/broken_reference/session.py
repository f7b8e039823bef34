"""Sessions run by a lab user; the reference to the user is misspelt."""

import importlib
import inspect

import datajoint as dj

from . import lab

schema = dj.Schema()

_linking_module = None


def activate(
    session_schema_name,
    lab_schema_name=None,
    *,
    create_schema=True,
    create_tables=True,
    linking_module=None,
):
    """Activate ``lab``, then this module (upstream ``Subject`` from the linking module)."""
    if isinstance(linking_module, str):
        linking_module = importlib.import_module(linking_module)
    assert inspect.ismodule(linking_module), "linking_module must be a module or its name"
    global _linking_module
    _linking_module = linking_module
    lab.activate(lab_schema_name, create_schema=create_schema, create_tables=create_tables)
    schema.activate(
        session_schema_name,
        create_schema=create_schema,
        create_tables=create_tables,
        add_objects=linking_module.__dict__,
    )


@schema
class Session(dj.Manual):
    # The failure: `lab` defines User, not Userr.
    definition = """
    -> Subject
    session_id: int
    ---
    -> lab.Userr
    """
