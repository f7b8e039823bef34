"""Sessions with a poller thread started at import."""

import threading

import datajoint as dj

schema = dj.Schema()

_stop = threading.Event()


def _poll():
    _stop.wait()


threading.Thread(target=_poll, name="session-poller").start()


def activate(schema_name, create_schema=True, create_tables=True):
    """Declare the table (the module misbehaved before, at import)."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Session(dj.Manual):
    definition = """
    session_id: int
    """
