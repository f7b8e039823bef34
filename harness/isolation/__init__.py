"""Each Element check in a process of its own, so Element code cannot take the run down.

An Element is third-party code: a stray ``sys.exit``, ``os._exit``, a segfault, a
hang, a non-daemon thread or an ``argparse`` call at import would otherwise end,
fake or hang the whole run. :mod:`harness.isolation.child` is what runs in the
check's process; :mod:`harness.isolation.supervisor` starts those processes,
enforces their deadlines, turns every way a process can end into a classified
result and drops the namespace of a process that died.
"""
