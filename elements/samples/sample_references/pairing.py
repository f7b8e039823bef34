"""Breeding pairs and atlas registrations of subjects."""

import importlib
import inspect

import datajoint as dj

schema = dj.Schema()

_linking_module = None


def activate(schema_name, *, create_schema=True, create_tables=True, linking_module=None):
    """Declare the tables; upstream names come from ``linking_module``.

    Needs ``Subject`` (primary key ``subject``), ``Device`` and a module-like
    ``reference`` holding an ``Atlas`` table.
    """
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
class Pair(dj.Manual):
    definition = """
    pair: varchar(32)
    ---
    -> Subject.proj(father="subject")
    -> Subject.proj(mother="subject")
    """

    class Litter(dj.Part):
        definition = """
        -> master
        litter_date: date
        ---
        pups=0: int
        """


@schema
class AtlasRegistration(dj.Manual):
    definition = """
    -> Subject
    -> reference.Atlas
    ---
    -> [nullable] Device            # imaging device, if any
    registered_on=null: date
    """


@schema
class RegistrationQuality(dj.Computed):
    definition = """
    -> AtlasRegistration
    ---
    score: float
    """

    def make(self, key):
        """A stand-in computation: a real Element would compare images here."""
        self.insert1(dict(key, score=1.0))
