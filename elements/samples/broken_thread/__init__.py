"""broken-thread: must fail with class ``global_state``.

A module starts a non-daemon thread at import, which never ends. In a shared
process the run would print its results and then never exit; in its own
process the check reports the thread and the process still ends.
"""
