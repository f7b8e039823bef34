"""Raw recordings ingested from session directories."""

import importlib
import inspect
import pathlib

import datajoint as dj

schema = dj.Schema()

_linking_module = None


def activate(schema_name, *, create_schema=True, create_tables=True, linking_module=None):
    """Declare the tables; ``Session`` and the root-directory functions come from the link."""
    if isinstance(linking_module, str):
        linking_module = importlib.import_module(linking_module)
    assert inspect.ismodule(linking_module), "linking_module must be a module or its name"
    assert hasattr(linking_module, "get_raw_root_data_dir"), (
        "the linking module must define get_raw_root_data_dir()"
    )
    global _linking_module
    _linking_module = linking_module
    schema.activate(
        schema_name,
        create_schema=create_schema,
        create_tables=create_tables,
        add_objects=linking_module.__dict__,
    )


def get_processed_root_data_dir():
    """Processed data go to their own root when the linking module says so (optional)."""
    if hasattr(_linking_module, "get_processed_root_data_dir"):
        return _linking_module.get_processed_root_data_dir()
    return _linking_module.get_raw_root_data_dir()


@schema
class Recording(dj.Imported):
    definition = """
    -> Session
    ---
    file_count: int
    """

    def make(self, key):
        """Count the files of the session directory (a required, run-time-only lookup)."""
        session_dir = pathlib.Path(_linking_module.get_session_directory(key))
        self.insert1(dict(key, file_count=sum(1 for _ in session_dir.iterdir())))


@schema
class ProcessingOutput(dj.Manual):
    definition = """
    -> Recording
    ---
    output_dir: varchar(255)       # relative to get_processed_root_data_dir()
    """
