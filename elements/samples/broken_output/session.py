"""Sessions whose activate floods its output, then dies."""

import os
import signal
import sys

import datajoint as dj

schema = dj.Schema()


def activate(schema_name, create_schema=True, create_tables=True):
    """Misbehave first (the failure), then declare the table if ever reached."""
    line = "x" * 1023
    for _ in range(4096):  # 4 MiB to each stream
        print(line)
        print(line, file=sys.stderr)
    print("broken-output: last line before SIGKILL", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Session(dj.Manual):
    definition = """
    session_id: int
    """
