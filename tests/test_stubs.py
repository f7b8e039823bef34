"""Stubs only where the Element itself imports, never for a guarded import.

The finder's rules are tested on small packages written into a temporary
directory (an Element ``elem`` and a dependency ``dep``), imported inside
:func:`fresh_scope` as a check imports them. The sample ``sample-stubbed``
(a missing heavy import beside a dependency shaped like ruamel.yaml 0.19, whose
optional accelerated loader breaks if its missing parser is stubbed) is then
checked for real: in-process and with the installed ``harness check
--stub-missing`` on a MariaDB container.
"""

from __future__ import annotations

import importlib
import json
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import MARIADB

from harness.activation.failures import FailureClass, classify
from harness.activation.scope import fresh_scope, purge_modules
from harness.activation.stubs import NotStubbedError, StubModule, StubSite
from harness.reports.loading import result_from_dict
from harness.reports.summary import stubs_text
from harness.results import ElementResult

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "elements" / "samples"
#: Every top-level name these tests may leave in sys.modules.
TEST_PACKAGES = ("elem", "dep", "sample_stubbed", "sample_stubbed_dep")

Write = Callable[[dict[str, str]], Path]


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Write]:
    """Write ``{relative path: source}`` under a fresh directory; forget the modules after."""

    def write(files: dict[str, str]) -> Path:
        for relative, source in files.items():
            path = tmp_path / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source).lstrip("\n"))
        return tmp_path

    purge_modules(TEST_PACKAGES)
    yield write
    purge_modules(TEST_PACKAGES)


def imported(root: Path, module: str, *, stubs: tuple[str, ...] = (), every: bool = True) -> Any:
    """Import ``module`` as a check does (Element ``elem``); the module and the finder."""
    with fresh_scope(("elem",), sys_path=[root], stubs=stubs, stub_all_missing=every) as finder:
        return importlib.import_module(module), finder


# ------------------------------------------------------------ the Element's own imports


def test_a_top_level_import_of_the_element_is_stubbed_and_its_site_recorded(tree: Write) -> None:
    root = tree(
        {
            "elem/__init__.py": "",
            "elem/mod.py": """
                import os
                import missing_heavy

                class Reader(missing_heavy.Reader):
                    pass
            """,
        }
    )
    module, finder = imported(root, "elem.mod")
    assert isinstance(module.missing_heavy, StubModule)
    assert finder.stubbed == {"missing_heavy"}
    site = finder.sites["missing_heavy"]
    assert site == StubSite("missing_heavy", "elem.mod", str(root / "elem" / "mod.py"), 2)
    assert site.where == "elem/mod.py:2"
    assert "missing_heavy" not in sys.modules  # forgotten with the scope


HANDLERS = [
    "except ImportError:",
    "except ImportError as exc:",
    "except ModuleNotFoundError:",
    "except (ValueError, ImportError):",
    "except Exception:",
    "except BaseException:",
    "except builtins.ImportError:",
    "except:",
]
if sys.version_info >= (3, 11):
    HANDLERS.append("except* ImportError:")


@pytest.mark.parametrize("handler", HANDLERS)
def test_an_import_guarded_by_a_handler_catching_import_error_is_never_stubbed(
    tree: Write, handler: str
) -> None:
    root = tree(
        {
            "elem/__init__.py": "",
            "elem/mod.py": f"""
                import builtins

                try:
                    from missing_optional import (
                        fast,
                    )
                {handler}
                    fast = None
            """,
        }
    )
    module, finder = imported(root, "elem.mod")
    assert module.fast is None  # the Element's own fallback ran
    assert finder.sites == {}


def test_a_handler_not_catching_import_error_guards_nothing_nor_does_the_handler_body(
    tree: Write,
) -> None:
    root = tree(
        {
            "elem/__init__.py": "",
            "elem/mod.py": """
                try:
                    import missing_a
                except ValueError:
                    missing_a = None
                try:
                    import missing_b
                except ImportError:
                    import missing_c
                try:
                    import os
                except ImportError:
                    pass
                else:
                    import missing_d
            """,
        }
    )
    module, finder = imported(root, "elem.mod")
    assert isinstance(module.missing_a, StubModule)
    # missing_b is guarded: not stubbed, so its handler ran; a handler and an `else`
    # are outside the try body.
    assert not hasattr(module, "missing_b")
    assert isinstance(module.missing_c, StubModule) and isinstance(module.missing_d, StubModule)
    assert sorted(finder.sites) == ["missing_a", "missing_c", "missing_d"]


def test_a_guarded_import_further_up_the_import_chain_counts(tree: Write) -> None:
    """``try: from . import extras`` guards what ``extras`` imports at its top."""
    root = tree(
        {
            "elem/__init__.py": """
                try:
                    from . import extras
                except ImportError:
                    extras = None
            """,
            "elem/extras.py": "import missing_extra\n",
        }
    )
    module, finder = imported(root, "elem")
    assert module.extras is None
    assert finder.sites == {}


def test_find_spec_is_a_question_not_an_import(tree: Write) -> None:
    root = tree(
        {
            "elem/__init__.py": "",
            "elem/mod.py": """
                import importlib.util

                FOUND = importlib.util.find_spec("missing_probe") is not None
            """,
        }
    )
    module, finder = imported(root, "elem.mod")
    assert module.FOUND is False
    assert finder.sites == {}


# ------------------------------------------------------------ imports of other modules


def test_a_dependency_missing_import_is_not_stubbed_and_says_who_imports_it(
    tree: Write,
) -> None:
    root = tree(
        {
            "elem/__init__.py": "",
            "elem/mod.py": "import dep\n",
            "dep/__init__.py": "import os\nimport missing_of_dep\n",
        }
    )
    with (
        fresh_scope(("elem",), sys_path=[root], stub_all_missing=True) as finder,
        pytest.raises(ModuleNotFoundError) as raised,
    ):
        importlib.import_module("elem.mod")
    error = raised.value
    assert isinstance(error, NotStubbedError)
    assert error.name == "missing_of_dep"
    assert str(error) == (
        "No module named 'missing_of_dep' (imported by dep at dep/__init__.py:2); not stubbed: "
        "stubs replace only imports of the Element's own modules (elem), and dep is not one "
        "of them"
    )
    assert error.site.file == str(root / "dep" / "__init__.py")
    assert finder.stubbed == set()
    failure = classify(error, phase="import", module="elem.mod", packages=("elem",), prefix="x")
    assert failure.class_ == FailureClass.IMPORT_ERROR
    assert failure.hint == (
        "install 'missing_of_dep' (add it to the spec's [install].with): "
        "dep, which the Element uses, needs it at import"
    )


def test_a_dependency_guarded_import_falls_back_even_where_a_stub_would_break_it(
    tree: Write,
) -> None:
    """The ruamel.yaml 0.19 case: the stubbed C parser as a base class has no valid MRO."""
    root = tree(
        {
            "elem/__init__.py": "",
            "elem/mod.py": "import missing_heavy\nfrom dep import Loader\n",
            "dep/__init__.py": """
                try:
                    from .cloader import Loader
                except (ImportError, ValueError):
                    from .loader import Loader
            """,
            "dep/base.py": "class A:\n    pass\n\nclass B:\n    pass\n",
            "dep/loader.py": "from .base import A, B\n\nclass Loader(A, B):\n    pass\n",
            "dep/cloader.py": """
                try:
                    from _dep_speedups import CParser
                except ModuleNotFoundError:
                    from _dep_speedups_z import CParser
                from .base import A, B

                class Loader(CParser, A, B):
                    pass
            """,
        }
    )
    module, finder = imported(root, "elem.mod")
    assert module.Loader.__module__ == "dep.loader"
    assert list(finder.sites) == ["missing_heavy"]


def test_a_submodule_of_a_stub_is_a_stub_whoever_imports_it(tree: Write) -> None:
    root = tree(
        {
            "elem/__init__.py": "",
            "elem/mod.py": "import missing_sdk\nimport dep\n",
            "dep/__init__.py": "import missing_sdk.io\n",
        }
    )
    _, finder = imported(root, "elem.mod")
    assert isinstance(sys.modules["dep"].missing_sdk.io, StubModule)
    assert finder.sites["missing_sdk.io"].importer == "dep"
    assert finder.stubbed == {"missing_sdk"}


def test_spec_stubs_follow_the_same_rule(tree: Write) -> None:
    root = tree(
        {
            "elem/__init__.py": "",
            "elem/mod.py": "import listed_heavy\n",
            "elem/other.py": "import dep\n",
            "elem/unlisted.py": "import unlisted_heavy\n",
            "dep/__init__.py": "import listed_heavy\n",
        }
    )
    module, _ = imported(root, "elem.mod", stubs=("listed_heavy",), every=False)
    assert isinstance(module.listed_heavy, StubModule)
    with pytest.raises(NotStubbedError, match=r"imported by dep at dep/__init__\.py:1"):
        imported(root, "elem.other", stubs=("listed_heavy",), every=False)
    with pytest.raises(ModuleNotFoundError) as raised:
        imported(root, "elem.unlisted", stubs=("listed_heavy",), every=False)
    assert not isinstance(raised.value, NotStubbedError)  # not asked for: Python's own error


@pytest.mark.usefixtures("tree")
def test_the_sample_imports_with_its_heavy_package_stubbed_and_the_fallbacks_run() -> None:
    module, finder = imported_sample()
    assert isinstance(module.sample_vendor_sdk, StubModule)
    assert module.sample_optional_plotting is None
    assert module.WITH_SPEEDUPS is False
    assert module.Recording.loader_name() == "Loader"
    assert list(finder.sites) == ["sample_vendor_sdk"]
    assert finder.sites["sample_vendor_sdk"].where == f"sample_stubbed/recording.py:{heavy_line()}"


def imported_sample() -> tuple[Any, Any]:
    with fresh_scope(("sample_stubbed",), sys_path=[SAMPLES], stub_all_missing=True) as finder:
        return importlib.import_module("sample_stubbed.recording"), finder


def heavy_line(root: Path = SAMPLES) -> int:
    """The line of ``import sample_vendor_sdk`` in the sample's ``recording.py``."""
    lines = (root / "sample_stubbed" / "recording.py").read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith("import sample_vendor"))


# ------------------------------------------------------------ reports


def test_stub_sites_are_in_the_json_report_and_old_reports_still_load() -> None:
    site = StubSite("cv2", "element_x.model", "/site-packages/element_x/model.py", 9)
    result = ElementResult(
        target="element-x",
        name="element-x",
        stubbed_imports=["cv2"],
        stub_sites=[site, StubSite("cv2.aruco", "element_x.model", site.file, 10)],
    )
    data = json.loads(json.dumps(result.to_dict()))
    assert data["stubbed_imports"] == ["cv2"]
    assert data["stub_sites"][0] == {
        "module": "cv2",
        "importer": "element_x.model",
        "file": "/site-packages/element_x/model.py",
        "line": 9,
    }
    loaded = result_from_dict(data)
    assert loaded.stub_sites == result.stub_sites
    assert stubs_text(loaded) == "cv2 (element_x/model.py:9)"
    del data["stub_sites"]  # a report written before sites were recorded
    old = result_from_dict(data)
    assert old.stub_sites == [] and stubs_text(old) == "cv2"


# ------------------------------------------------------------ real checks


@pytest.mark.docker
@pytest.mark.usefixtures("tree")
def test_sample_checked_in_process_on_mariadb(mariadb_server: Any) -> None:
    from harness.activation.namespace import new_prefix
    from harness.activation.runner import CheckOptions, ElementCheck
    from harness.elements.targets import resolve_target
    from harness.runinfo import RunIdentity

    checker = ElementCheck(
        resolve_target("sample-stubbed"),
        mariadb_server,
        new_prefix(RunIdentity.new().run_id),
        CheckOptions(stub_missing=True),
    )
    with checker.activated() as activation:
        recording = activation.modules["sample_stubbed.recording"]
        assert recording.sample_optional_plotting is None
        assert recording.WITH_SPEEDUPS is False
        recording.Recording.insert1({"recording_id": 1, "loader": "Loader"})
        assert len(recording.Recording()) == 1
    result = checker.result
    assert result.status == "passed", result.failure and result.failure.render()
    assert result.stubbed_imports == ["sample_vendor_sdk"]
    assert [site.where for site in result.stub_sites] == [
        f"sample_stubbed/recording.py:{heavy_line()}"
    ]


@pytest.mark.docker
def test_installed_harness_checks_the_sample_with_stub_missing(
    installed_harness: Any, tmp_path: Path
) -> None:
    """An Element's repository, its dependency installed from its own project, a real check."""
    repo = tmp_path / "repo"
    shutil.copytree(SAMPLES / "sample_stubbed", repo / "sample_stubbed")
    (repo / "pyproject.toml").write_text('[project]\nname = "sample-stubbed"\nversion = "0.1.0"\n')
    dependency = tmp_path / "dependency"
    shutil.copytree(SAMPLES / "sample_stubbed_dep", dependency / "sample_stubbed_dep")
    (dependency / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "sample-stubbed-dep"\nversion = "1.0"\n'
        '[tool.setuptools]\npackages = ["sample_stubbed_dep"]\n'
    )
    installed_harness.pip_install(str(dependency))
    command = ("harness", "check", "./sample_stubbed", "--db", "mariadb", "--image", MARIADB)

    without = installed_harness.run(*command, "--json", "without.json", cwd=repo)
    assert without.returncode == 1, without.stdout + without.stderr
    (failed,) = json.loads((repo / "without.json").read_text())["elements"]
    assert failed["failure"]["class"] == "import_error"
    assert "No module named 'sample_vendor_sdk'" in failed["failure"]["message"]

    done = installed_harness.run(*command, "--stub-missing", "--json", "with.json", cwd=repo)
    assert done.returncode == 0, done.stdout + done.stderr
    (element,) = json.loads((repo / "with.json").read_text())["elements"]
    assert element["status"] == "passed", element["failure"]
    assert element["stubbed_imports"] == ["sample_vendor_sdk"]
    # The Element's heavy import, at its file and line; nothing of the dependency's.
    assert element["stub_sites"] == [
        {
            "module": "sample_vendor_sdk",
            "importer": "sample_stubbed.recording",
            "file": str((repo / "sample_stubbed" / "recording.py").resolve()),
            "line": heavy_line(repo),
        }
    ]
    assert "site-packages" not in json.dumps(element["stub_sites"])
