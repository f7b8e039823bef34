"""sample-evolving 1.0: one release of a small Element whose schema changes between releases.

See ``elements/samples/releases/README.md`` for what changes from 1.0 to 1.1.
"""

__version__ = "1.0"
