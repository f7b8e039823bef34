"""sample-crossing 1.1, ported to DataJoint 2: see ``elements/samples/releases/README.md``."""

__version__ = "1.1"
