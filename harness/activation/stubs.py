"""Stand-ins for heavy packages an Element imports but a schema check never uses.

Many Elements import analysis packages at module level (cv2, suite2p,
spikeinterface, ...) although only their ``make`` methods use them. Checking a
schema should not require gigabytes of those. A stub is a module whose every
attribute is a permissive placeholder: callable, indexable, usable as a base
class. Stubs are only provided for packages that are *not* installed, only for
names the spec lists or when ``--stub-missing`` is given, never for DataJoint,
and every stub actually imported is reported.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import types
from collections.abc import Iterable, Sequence
from typing import Any

NEVER_STUBBED = frozenset({"datajoint", "harness", "pymysql", "psycopg2", "numpy", "pandas"})


class Placeholder:
    """Any attribute of a stub module: absorbs calls, attribute access and subclassing."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Placeholder:
        if attribute.startswith("__") and attribute.endswith("__"):
            raise AttributeError(attribute)
        return Placeholder(f"{self._name}.{attribute}")

    def __call__(self, *args: Any, **kwargs: Any) -> Placeholder:
        return Placeholder(f"{self._name}()")

    def __getitem__(self, key: Any) -> Placeholder:
        return Placeholder(f"{self._name}[...]")

    def __mro_entries__(self, bases: tuple[Any, ...]) -> tuple[type, ...]:
        # `class Foo(stubbed.Base):` builds a plain class instead of failing.
        return (object,)

    def __iter__(self) -> Any:
        return iter(())

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"<stub {self._name}>"


class StubModule(types.ModuleType):
    """A module object that answers every attribute with a :class:`Placeholder`."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__path__: list[str] = []  # behaves as a package, so `import stub.sub` works

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__") and attribute.endswith("__"):
            raise AttributeError(attribute)
        return Placeholder(f"{self.__name__}.{attribute}")


class StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Meta-path finder consulted *after* the real ones: only missing packages are stubbed."""

    def __init__(
        self, names: Iterable[str], stub_all_missing: bool, protected: Iterable[str] = ()
    ) -> None:
        self.protected = NEVER_STUBBED | {name.split(".")[0] for name in protected}
        self.names = {name.split(".")[0] for name in names} - self.protected
        self.stub_all_missing = stub_all_missing
        self.stubbed: set[str] = set()

    def _wanted(self, fullname: str) -> bool:
        top = fullname.split(".")[0]
        if top in self.protected:
            # The Element's own modules and DataJoint are never replaced: a missing one
            # is an error in the Element, not a heavy dependency.
            return False
        return top in self.names or self.stub_all_missing

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not self._wanted(fullname):
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        self.stubbed.add(spec.name.split(".")[0])
        return StubModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__dict__["__harness_stub__"] = True


def is_stub(module: Any) -> bool:
    return isinstance(module, StubModule)
