"""broken-exit: must fail with class ``process_exit``.

``activate`` ends with ``sys.exit(3)``, as leftover script code might. In the
harness's own process that would end the run with status 3, no report and no
later Element checked; in its own process it is this Element's failure, with
the line, and the run goes on.
"""
