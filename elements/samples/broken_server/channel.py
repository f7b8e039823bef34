"""Recording channels whose defaults are inserted after the connection is killed."""

import contextlib

import datajoint as dj

schema = dj.Schema()

DEFAULT_CHANNELS = [(0, "green"), (1, "red")]

#: Statements that end the current server session, by backend.
_END_OWN_SESSION = {
    "mysql": "KILL CONNECTION_ID()",
    "postgresql": "SELECT pg_terminate_backend(pg_backend_pid())",
}


def _backend(connection):
    """``mysql`` on DataJoint 0.14 (MySQL/MariaDB only); the adapter's backend on 2.x."""
    adapter = getattr(connection, "adapter", None)
    return getattr(adapter, "backend", "mysql")


def activate(schema_name, *, create_schema=True, create_tables=True, linking_module=None):
    """Declare the tables, then insert defaults on a connection the server has dropped."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)
    connection = schema.connection
    with connection.transaction:
        # The server may report the kill on the statement itself; what matters is
        # that the session is gone.
        with contextlib.suppress(Exception):
            connection.query(_END_OWN_SESSION[_backend(connection)])
        # The failure: the connection was lost inside a transaction.
        Channel.insert(DEFAULT_CHANNELS, skip_duplicates=True)


@schema
class Channel(dj.Manual):
    definition = """
    channel: int
    ---
    color: varchar(16)
    """
