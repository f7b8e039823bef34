"""``harness port``: every DataJoint 2 incompatibility of an Element, and its mechanical fixes.

Static analysis of all the Element's modules (:mod:`.scan`, :mod:`.definitions`)
against the catalogue of what DataJoint 2.x removed, rejects or reinterprets
(:mod:`.rules`); mechanical replacements written in place (:mod:`.fix`) into
the Element's own source tree only (:mod:`.source`); then, where DataJoint 2 is
installed, the harness check itself (:mod:`.command`) for what the source cannot
show. :mod:`.render` prints and writes the findings.
"""

from harness.port.command import add_port_parser, run_port

__all__ = ["add_port_parser", "run_port"]
