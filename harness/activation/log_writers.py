"""One DataJoint 0.14 ``~log`` writer per schema, instead of one per table object.

DataJoint 0.14 writes an entry to its schema's ``~log`` table after each
``CREATE TABLE`` (and each ``DELETE``/``DROP``), through a writer that every table
object builds for itself. Each new writer asks the server whether ``~log`` exists,
who the user is, and then loads ``~log``'s heading before its first insert: five
catalog queries and their parsing for every table an Element declares, about a
fifth of a check's time, to learn what cannot change while the check runs.

Within :func:`log_writers_shared` one writer per connection and schema is built
and shared by every table object, so those questions are asked once per schema.
Every entry is still written, with the same contents (user, version, host, event):
the server ends up with the same rows as without the block. ``silent`` writers
write nothing (the round trip's cascading delete, whose entries would record the
harness's own synthesized rows). DataJoint 2.x keeps no ``~log``: there the block
changes nothing.

The block is only entered around the harness's own steps (activation, mocks,
reactivation, round trip), where no schema is dropped and declared again: a
writer's knowledge that ``~log`` exists stays true while it is shared.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from harness.activation import compat


@contextlib.contextmanager
def log_writers_shared(*, silent: bool = False) -> Iterator[None]:
    """Within the block, DataJoint 0.14 tables share one ``~log`` writer per schema."""
    module = compat.datajoint().table
    current = getattr(module, "Log", None)
    original = getattr(current, "__wrapped__", current)  # nested blocks wrap the class
    if not isinstance(original, type):  # DataJoint 2.x keeps no ~log table
        yield
        return
    # The connection is kept with its writers so that its id cannot be reused.
    built: dict[tuple[int, str, bool], tuple[Any, Any]] = {}

    def log_writer(conn: Any, database: str, skip_logging: bool = False) -> Any:
        skip = skip_logging or silent
        where = (id(conn), database, skip)
        if where not in built:
            built[where] = (conn, original(conn, database=database, skip_logging=skip))
        return built[where][1]

    log_writer.__wrapped__ = original  # type: ignore[attr-defined]
    module.Log = log_writer
    try:
        yield
    finally:
        module.Log = current
