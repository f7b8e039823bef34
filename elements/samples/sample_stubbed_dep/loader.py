"""The pure-Python loader: always available."""

from .base import BaseConstructor, BaseResolver


class Loader(BaseConstructor, BaseResolver):
    """Parses in Python."""
