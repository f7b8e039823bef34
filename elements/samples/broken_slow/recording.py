"""Recordings whose activation waits between declaring and inserting."""

import os
import time
from pathlib import Path

import datajoint as dj

schema = dj.Schema()


def activate(schema_name, *, create_schema=True, create_tables=True, linking_module=None):
    """Declare, announce, wait, then use the server again."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)
    marker = os.environ.get("BROKEN_SLOW_MARKER")
    if marker:
        Path(marker).write_text(schema.database, encoding="utf-8")
    time.sleep(float(os.environ.get("BROKEN_SLOW_SECONDS", "5")))
    Recording.insert1({"recording_id": 1}, skip_duplicates=True)


@schema
class Recording(dj.Manual):
    definition = """
    recording_id: int
    """
