"""Acquisition sessions read with a (non-existent) vendor package."""

import datajoint as dj
import element_nonexistent_pkg  # the failure: no such package is installed

schema = dj.Schema()


def activate(schema_name, *, create_schema=True, create_tables=True, linking_module=None):
    """Never reached: the module does not import."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Acquisition(dj.Manual):
    definition = """
    acquisition_id: int
    ---
    vendor_version: varchar(32)
    """

    @staticmethod
    def vendor_version():
        return element_nonexistent_pkg.__version__
