"""broken-hang: must fail with class ``timeout``.

A module blocks at import (``time.sleep(3600)``), where the activation timeout
does not reach. The spec sets ``check.timeout = 2``; the check's process is
killed at its deadline (twice the timeout plus ten seconds) and the report
names the line it was stuck on.
"""
