"""Assays run on a rig for a session.

``Rig`` and ``Session`` come from the linking module. This Element defines
``Rig`` itself (in ``rig``), as a pipeline would link it; ``Session`` it does
not define, so a check has to mock it.
"""

import importlib
import inspect

import datajoint as dj

schema = dj.Schema()

_linking_module = None


def activate(schema_name, *, create_schema=True, create_tables=True, linking_module=None):
    """Activate this module's schema with ``Rig`` and ``Session`` from ``linking_module``."""
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
class Assay(dj.Manual):
    definition = """
    -> Session
    assay_id: int
    ---
    -> Rig
    assay_note='': varchar(255)
    """
