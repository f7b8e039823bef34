"""Stand-ins for heavy packages an Element imports but a schema check never uses.

Many Elements import analysis packages at module level (cv2, suite2p,
spikeinterface, ...) although only their ``make`` methods use them. Checking a
schema should not require gigabytes of those. A stub is a module whose every
attribute is a permissive placeholder: callable, indexable, usable as a base
class. Stubs are only provided for packages that are *not* installed, only for
names the spec lists or when ``--stub-missing`` is given, never for DataJoint,
and every stub actually imported is reported with the file and line that
imported it.

A stub is handed out only where the Element itself imports. Its dependencies
are real, installed code that ran for their own users without the stubbed
packages, so they either had what they import or guarded the import:
``try: from ._speedups import fast`` / ``except ImportError: fast = None``.
A stub there would replace the fallback with a placeholder the dependency
never expected (ruamel.yaml then builds a class on a stubbed C parser and fails
with an MRO error). So the finder reads the import machinery's call stack:

* the *importer* is the first frame outside importlib; only a module of the
  Element's own packages gets a stub (or a submodule of a package already
  stubbed for it);
* an import lying in the body of a ``try`` whose handlers catch ImportError
  (``ModuleNotFoundError``, ``Exception``, ``BaseException``, a tuple with one
  of them, a bare ``except``) is never stubbed, in any module: neither in the
  importer nor in the module bodies whose imports led to it;
* ``importlib.util.find_spec(name)`` is a question, not an import: no stub.

A dependency's unguarded import of a missing module raises
:class:`NotStubbedError` (a ModuleNotFoundError) naming who imports it.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import tokenize
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

NEVER_STUBBED = frozenset({"datajoint", "harness", "pymysql", "psycopg2", "numpy", "pandas"})

#: Exception names whose handler also catches ImportError (by name, as written).
_CATCHES_IMPORT_ERROR = frozenset(
    {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
)
#: ``try`` and, from Python 3.11, ``try``/``except*``.
_TRY_NODES: tuple[type[ast.stmt], ...] = tuple(
    node for node in (ast.Try, getattr(ast, "TryStar", None)) if node is not None
)


@dataclass(frozen=True)
class StubSite:
    """Where a stub was handed out: the module stubbed and the import statement asking for it."""

    module: str
    importer: str
    file: str
    line: int

    @property
    def package(self) -> str:
        return self.module.split(".")[0]

    @property
    def where(self) -> str:
        """``element_x/model.py:12``: the file from the importer's top package on, and the line."""
        parts = PurePath(self.file).parts
        top = self.importer.split(".")[0]
        if top in parts:
            start = len(parts) - 1 - parts[::-1].index(top)
            return f"{PurePath(*parts[start:])}:{self.line}"
        return f"{self.file}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "importer": self.importer,
            "file": self.file,
            "line": self.line,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StubSite:
        return cls(str(data["module"]), str(data["importer"]), str(data["file"]), int(data["line"]))


class NotStubbedError(ModuleNotFoundError):
    """A missing module imported by code outside the Element: the harness will not stub it."""

    def __init__(self, site: StubSite, elements: Iterable[str]) -> None:
        owner = site.importer.split(".")[0] or "?"
        super().__init__(
            f"No module named {site.module!r} (imported by {site.importer} at {site.where}); "
            f"not stubbed: stubs replace only imports of the Element's own modules "
            f"({', '.join(sorted(elements))}), and {owner} is not one of them",
            name=site.module,
        )
        self.site = site
        self.hint = (
            f"install {site.package!r} (add it to the spec's [install].with): "
            f"{owner}, which the Element uses, needs it at import"
        )


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
    """Meta-path finder consulted *after* the real ones: only missing packages are stubbed.

    ``elements`` are the packages being checked: never stubbed themselves, and
    the only importers that get stubs.
    """

    def __init__(
        self, names: Iterable[str], stub_all_missing: bool, elements: Iterable[str] = ()
    ) -> None:
        self.elements = frozenset(name.split(".")[0] for name in elements)
        self.protected = NEVER_STUBBED | self.elements
        self.names = {name.split(".")[0] for name in names} - self.protected
        self.stub_all_missing = stub_all_missing
        self.stubbed: set[str] = set()
        #: Module name -> where it was first stubbed, in import order.
        self.sites: dict[str, StubSite] = {}

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
        chain = _import_chain(sys._getframe(1))
        if not chain or any(_guarded(frame) for frame in chain):
            # No import statement (a find_spec probe, the harness), or one whose ImportError
            # is handled: the code's own fallback runs, as it would without the harness.
            return None
        importer = chain[0]
        site = StubSite(
            fullname,
            str(importer.f_globals.get("__name__", "?")),
            importer.f_code.co_filename,
            importer.f_lineno or 0,
        )
        parent = sys.modules.get(fullname.rpartition(".")[0])
        if site.importer.split(".")[0] not in self.elements and not isinstance(parent, StubModule):
            if sys.meta_path and sys.meta_path[-1] is self:
                raise NotStubbedError(site, self.elements)
            return None  # a finder after this one may still find it
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True, loader_state=site)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        self.stubbed.add(spec.name.split(".")[0])
        if isinstance(spec.loader_state, StubSite):
            self.sites.setdefault(spec.name, spec.loader_state)
        return StubModule(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__dict__["__harness_stub__"] = True


def _is_machinery(frame: types.FrameType) -> bool:
    """A frame of importlib (frozen or not, ``importlib.import_module`` too) or of this finder.

    Told by the frame's module name: frozen modules' file names (``<frozen
    importlib.util>``) vary between Python versions.
    """
    module = frame.f_globals.get("__name__")
    return isinstance(module, str) and (
        module == "importlib" or module.startswith("importlib.") or module == __name__
    )


def _import_chain(frame: types.FrameType | None) -> list[types.FrameType]:
    """The frames executing the import statements that led here, innermost first.

    The first is the importer: the first frame outside importlib. While a frame
    is a module body run by the import machinery, the frame that imported that
    module follows. The harness's own frames end the chain: its ``try`` around
    an Element's import guards nothing of the Element's. Empty when the
    machinery was entered through ``importlib.util.find_spec`` (a probe, not an
    import) or by the harness itself: neither gets a stub.
    """
    chain: list[types.FrameType] = []
    while frame is not None:
        through_machinery = False
        while frame is not None and _is_machinery(frame):
            code, module = frame.f_code, frame.f_globals.get("__name__")
            if code.co_name == "find_spec" and module == "importlib.util":
                return []
            through_machinery = True
            frame = frame.f_back
        if frame is None or (chain and not through_machinery):
            break
        if str(frame.f_globals.get("__name__", "")).split(".")[0] == "harness":
            break
        chain.append(frame)
        if frame.f_code.co_name != "<module>":
            break
        frame = frame.f_back
    return chain


def _guarded(frame: types.FrameType) -> bool:
    """Whether the frame's current line lies in a ``try`` body whose handlers catch ImportError."""
    line = frame.f_lineno or 0
    return any(first <= line <= last for first, last in _guarded_ranges(frame.f_code.co_filename))


_RANGES: dict[tuple[str, int, int], tuple[tuple[int, int], ...]] = {}


def _guarded_ranges(filename: str) -> tuple[tuple[int, int], ...]:
    """Line ranges of the ``try`` bodies of a source file that catch ImportError (cached)."""
    try:
        status = os.stat(filename)
    except (OSError, ValueError):
        return ()  # no source to read (<string>, a frozen module): nothing is known to be guarded
    key = (filename, status.st_mtime_ns, status.st_size)
    if key not in _RANGES:
        _RANGES[key] = _read_guarded_ranges(filename)
    return _RANGES[key]


def _read_guarded_ranges(filename: str) -> tuple[tuple[int, int], ...]:
    try:
        with tokenize.open(filename) as source:
            tree = ast.parse(source.read(), filename)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return ()
    return tuple(
        (node.body[0].lineno, node.body[-1].end_lineno or node.body[-1].lineno)
        for node in ast.walk(tree)
        if isinstance(node, _TRY_NODES)
        and any(_catches_import_error(handler.type) for handler in node.handlers)
    )


def _catches_import_error(caught: ast.expr | None) -> bool:
    if caught is None:
        return True  # bare `except:`
    if isinstance(caught, ast.Tuple):
        return any(_catches_import_error(item) for item in caught.elts)
    if isinstance(caught, ast.Name):
        return caught.id in _CATCHES_IMPORT_ERROR
    if isinstance(caught, ast.Attribute):
        return caught.attr in _CATCHES_IMPORT_ERROR  # builtins.ImportError
    return False
