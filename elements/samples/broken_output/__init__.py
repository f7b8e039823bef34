"""broken-output: must fail with class ``crash``.

``activate`` prints megabytes to stdout and stderr, then kills its own process
with SIGKILL. The harness must neither block on the output nor keep it all: the
report holds the last lines, among them the last one printed.
"""
