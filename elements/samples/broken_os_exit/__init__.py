"""broken-os-exit: must fail with class ``process_exit``.

``activate`` calls ``os._exit(0)``: no ``finally`` runs, no exception is seen.
In a shared process the run would end with status 0, a green job without a
report; the harness must report a failure with the line of the call.
"""
