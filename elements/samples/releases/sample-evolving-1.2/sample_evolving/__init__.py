"""sample-evolving 1.2: one release of a small Element whose schema changes between releases.

See ``elements/samples/releases/README.md`` for what changes from 1.1 to 1.2.
"""

__version__ = "1.2"
