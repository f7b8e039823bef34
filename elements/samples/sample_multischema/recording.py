"""Recordings of a session on a device.

Upstream ``Session`` comes from the linking module; ``get_data_root_dir`` is a
required linking function (asserted in ``activate``).
"""

import importlib
import inspect

import datajoint as dj

from . import device

schema = dj.Schema()

_linking_module = None


def activate(
    recording_schema_name,
    device_schema_name=None,
    *,
    create_schema=True,
    create_tables=True,
    linking_module=None,
):
    """Activate ``device`` (unless already active) and then this module's schema.

    Args:
        recording_schema_name: schema of this module.
        device_schema_name: schema of the ``device`` module; ``None`` if already active.
        linking_module: a module, or its name, providing ``Session`` and
            ``get_data_root_dir()``.
    """
    if isinstance(linking_module, str):
        linking_module = importlib.import_module(linking_module)
    assert inspect.ismodule(linking_module), "linking_module must be a module or its name"
    assert hasattr(linking_module, "get_data_root_dir"), (
        "the linking module must define get_data_root_dir()"
    )
    global _linking_module
    _linking_module = linking_module

    device.activate(device_schema_name, create_schema=create_schema, create_tables=create_tables)
    schema.activate(
        recording_schema_name,
        create_schema=create_schema,
        create_tables=create_tables,
        add_objects=linking_module.__dict__,
    )


def get_data_root_dir():
    """The root of raw data, from the linking module."""
    return _linking_module.get_data_root_dir()


@schema
class Recording(dj.Manual):
    definition = """
    -> Session
    recording_id: int
    ---
    -> device.Device
    recording_path: varchar(255)   # relative to get_data_root_dir()
    """


@schema
class RecordingInfo(dj.Imported):
    definition = """
    -> Recording
    ---
    duration: float                # seconds
    """

    def make(self, key):
        """Would read the file under get_data_root_dir(); not needed for a schema check."""
        raise NotImplementedError


@schema
class RecordingChannel(dj.Manual):
    definition = """
    -> Recording
    channel: int
    ---
    channel_name='': varchar(32)
    """
