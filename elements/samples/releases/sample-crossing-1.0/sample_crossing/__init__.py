"""sample-crossing 1.0, written for DataJoint 0.14: see ``elements/samples/releases/README.md``."""

__version__ = "1.0"
