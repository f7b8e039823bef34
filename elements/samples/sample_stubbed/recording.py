"""Recordings read with a vendor SDK (heavy, not installed) and a dependency's loader."""

import datajoint as dj
import sample_vendor_sdk  # the heavy import: stubbed with --stub-missing, reported with this line
from sample_stubbed_dep import WITH_SPEEDUPS, Loader

try:
    import sample_optional_plotting  # optional: never stubbed, so the fallback below runs
except ImportError:
    sample_optional_plotting = None

schema = dj.Schema()


def activate(schema_name, *, create_schema=True, create_tables=True, linking_module=None):
    """Declare the tables in ``schema_name``; nothing upstream is needed."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Recording(dj.Manual):
    definition = """
    recording_id: int
    ---
    loader: varchar(32)           # which loader read the settings file
    """

    @staticmethod
    def loader_name():
        return "fast" if WITH_SPEEDUPS else Loader.__name__


class VendorReader(sample_vendor_sdk.Reader):
    """A reader built on the vendor's class: only ``make`` would use it."""
