"""The loader's building blocks, shared by the pure-Python and the accelerated loader."""


class BaseConstructor:
    """Builds Python objects from parsed nodes."""


class BaseResolver:
    """Decides the tag of each parsed node."""
