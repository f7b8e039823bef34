"""sample-rules 2.0: see ``elements/samples/releases/README.md`` for what changes in 2.0."""

__version__ = "2.0"
