"""The accelerated loader: the compiled parser as the first base.

If ``CParser`` were a stub, the bases would be ``object, BaseConstructor,
BaseResolver``, for which Python cannot build a method resolution order.
"""

try:
    from ._speedups import CParser  # a compiled extension, not shipped with this sample
except ModuleNotFoundError:
    # Another build of the extension; not there either. Its ImportError reaches the
    # package's own fallback in __init__.py.
    from _sample_stubbed_speedups import CParser

from .base import BaseConstructor, BaseResolver


class CLoader(CParser, BaseConstructor, BaseResolver):
    """Parses with the compiled parser."""
