"""Rigs and recordings: the constructs `harness port --write` replaces mechanically."""

import datajoint as dj
from datajoint import create_virtual_module

schema = dj.schema()


def activate(schema_name, create_schema=True, create_tables=True):
    """Declare the tables in ``schema_name``."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Rig(dj.Lookup):
    definition = """
    rig: varchar(16)
    ---
    active: boolean        # in use
    photo=null: attach     # a picture of the rig
    grade: enum("good", "poor")
    channels: tinyint
    gain: double
    """


@schema
class Recording(dj.Manual):
    definition = """
    -> Rig
    recording: int
    ---
    trace: longblob        # samples
    meta=null: blob        # acquisition settings
    """


@schema
class Processing(dj.Computed):
    definition = """
    -> Recording
    ---
    result: mediumblob
    """

    def make(self, key):
        trace = (Recording & key).fetch1("trace")
        self.insert1(dict(key, result=trace))


def configure():
    """Settings the 0.14 pipeline set before activation."""
    dj.config["enable_python_native_blobs"] = True
    dj.config["display.limit"] = 20


def recordings(rig):
    """Recordings of ``rig``, in the forms 0.14 code fetches them."""
    keys = (Recording & {"rig": rig}).fetch("KEY")
    rows = Recording.fetch(as_dict=True)
    traces = (Recording & keys).fetch("trace", order_by="recording")
    table = Rig.fetch(format="frame")
    everything = Recording.fetch()
    return keys, rows, traces, table, everything


def diagram():
    return dj.ERD(schema)


def upstream(name):
    return create_virtual_module("upstream", name), dj.create_virtual_module("again", name)


def drop():
    schema.drop(force=True)


def spawn(context):
    schema.spawn_missing_classes(context=context)
