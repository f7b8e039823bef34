"""A dependency of sample-stubbed (not an Element): a loader with an optional accelerator.

Shaped like ruamel.yaml 0.19: the package imports its accelerated loader in
``try``/``except ImportError`` and falls back to the pure-Python one.
"""

try:
    from .cloader import CLoader  # needs the compiled parser, which is not installed

    WITH_SPEEDUPS = True
except ImportError:
    CLoader = None
    WITH_SPEEDUPS = False

from .loader import Loader

__all__ = ["WITH_SPEEDUPS", "CLoader", "Loader"]
