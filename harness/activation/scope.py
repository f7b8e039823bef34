"""Fresh module objects for every check.

A deferred schema can be activated once per process, and Elements keep state
in module globals (``_linking_module``, activated schema objects). Re-running a
check in the same interpreter therefore needs the Element's modules imported
anew. Removing them from ``sys.modules`` before and after a check costs a
re-import of the Element only (milliseconds), not of DataJoint, numpy or pandas
(seconds), which is why the harness isolates checks this way rather than with a
subprocess per check.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from harness.activation.stubs import StubFinder


def purge_modules(packages: Iterable[str]) -> None:
    """Forget every module of ``packages`` (and their submodules).

    ``sys.modules`` holds thousands of names once numpy and pandas are in, and this
    runs several times per check: one ``startswith`` with a tuple per name, not a
    generator per name.
    """
    exact = frozenset(packages)
    if not exact:
        return
    nested = tuple(package + "." for package in exact)
    for name in [name for name in sys.modules if name in exact or name.startswith(nested)]:
        del sys.modules[name]


@contextlib.contextmanager
def fresh_scope(
    packages: Iterable[str],
    *,
    sys_path: Iterable[Path] = (),
    stubs: Iterable[str] = (),
    stub_all_missing: bool = False,
) -> Iterator[StubFinder]:
    """Import ``packages`` afresh inside the block; forget them (and stubs) afterwards.

    ``packages`` are the Elements: only their own imports get stubs.
    """
    packages = tuple(packages)
    added_paths = [str(path) for path in sys_path if str(path) not in sys.path]
    finder = StubFinder(stubs, stub_all_missing, elements=packages)
    purge_modules(packages)
    sys.path[:0] = added_paths
    sys.meta_path.append(finder)
    importlib.invalidate_caches()
    try:
        yield finder
    finally:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(finder)
        for path in added_paths:
            with contextlib.suppress(ValueError):
                sys.path.remove(path)
        purge_modules(packages)
        purge_modules(finder.stubbed)
