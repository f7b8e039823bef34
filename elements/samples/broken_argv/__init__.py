"""broken-argv: must fail with class ``process_exit``.

A module parses the command line at import (leftover script code) and needs an
argument: argparse prints its usage and raises ``SystemExit(2)``. The check's
process sees no harness options in ``sys.argv``; the failure names the line.
"""
