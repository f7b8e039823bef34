"""Assays of subjects on specimens: references across schemas, renamed, nullable, parts.

``activate`` also activates ``reference`` (like calcium-imaging's ``imaging``
activates ``scan``). ``Subject`` and ``Device`` come from the linking module.
"""

import importlib
import inspect

import datajoint as dj

from . import reference
from .types import BLOB, FLOAT, INT

schema = dj.Schema()

_linking_module = None


def activate(
    assay_schema_name,
    reference_schema_name=None,
    *,
    create_schema=True,
    create_tables=True,
    linking_module=None,
):
    """Activate ``reference`` (unless already active), then this module's schema."""
    if isinstance(linking_module, str):
        linking_module = importlib.import_module(linking_module)
    assert inspect.ismodule(linking_module), "linking_module must be a module or its name"
    global _linking_module
    _linking_module = linking_module
    if reference_schema_name is not None:
        reference.activate(
            reference_schema_name, create_schema=create_schema, create_tables=create_tables
        )
    schema.activate(
        assay_schema_name,
        create_schema=create_schema,
        create_tables=create_tables,
        add_objects=linking_module.__dict__,
    )


@schema
class Assay(dj.Manual):
    definition = f"""
    -> Subject
    assay_no: {INT}
    ---
    -> reference.Specimen
    -> Subject.proj(handler="subject")
    -> [nullable] Device
    assay_note=null: varchar(200)
    """

    class Reading(dj.Part):
        definition = f"""
        -> master
        reading_no: {INT}
        ---
        value: {FLOAT}
        trace: {BLOB}
        """

    class Reagent(dj.Part):
        definition = """
        -> master
        -> reference.Species.proj(reagent_species="species")
        ---
        amount: decimal(6,2)
        """


@schema
class AssayReview(dj.Computed):
    definition = """
    -> Assay
    ---
    verdict: enum('pass', 'fail')
    """

    def make(self, key):
        """A stand-in computation."""
        self.insert1(dict(key, verdict="pass"))
