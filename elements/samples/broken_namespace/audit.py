"""Changes to recordings, logged into a schema with a hard-coded name."""

import importlib
import inspect

import datajoint as dj

#: The schema name this module insists on: ignores the caller's naming.
AUDIT_SCHEMA_NAME = "harness_outside_schema_x"

schema = dj.Schema()
audit_schema = dj.Schema()

_linking_module = None


def activate(schema_name, *, create_schema=True, create_tables=True, linking_module=None):
    """Declare the recording tables, then the audit log under its fixed name."""
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
    # The failure: a schema outside the namespace the harness granted.
    audit_schema.activate(
        AUDIT_SCHEMA_NAME, create_schema=create_schema, create_tables=create_tables
    )


@schema
class Recording(dj.Manual):
    definition = """
    -> Session
    recording_id: int
    """


@audit_schema
class AuditLog(dj.Manual):
    definition = """
    entry_id: int
    ---
    message: varchar(1024)
    """
