"""The Element spec loader: a valid round trip, every kind of error, every shipped spec."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.elements.spec import (
    ActivateOverride,
    ElementSpec,
    InstallSpec,
    SpecError,
    find_spec,
    load_spec,
    spec_search_dirs,
)
from harness.errors import ConfigurationError

ELEMENTS_DIR = Path(__file__).resolve().parents[1] / "elements"

FULL = """\
# A spec using every key.
name = "element-demo"
package = "element_demo"
version = "0.2.3"
description = "a demo"

[install]
requirement = "element-demo==0.2.3"
no_deps = false
with = ["numpy", "pandas"]

[check]
modules = ["element_demo.trial", "element_demo.other"]
exclude = ["element_demo.export"]
stubs = ["element_interface", "cv2"]
timeout = 60

[upstream]
Subject = "element_animal.subject.Subject"

[mock]
functions = ["get_extra_dir"]
[mock.tables]
Session = \"\"\"
subject: varchar(8)
session_datetime: datetime
\"\"\"

[[activate]]
module = "element_demo.trial"
function = "activate"
covers = ["element_demo.event"]
[activate.args]
trial_schema_name = "trial"
event_schema_name = "event"

[[activate]]
module = "element_demo.other"
function = "setup"
[activate.args]
other_schema_name = "other"
verbose = true
"""


def write(directory: Path, text: str, stem: str = "element-demo") -> Path:
    path = directory / f"{stem}.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def minimal(extra: str = "") -> str:
    return 'name = "element-demo"\npackage = "element_demo"\n' + textwrap.dedent(extra)


# ------------------------------------------------------------------------- valid


def test_full_spec_round_trip(tmp_path: Path) -> None:
    path = write(tmp_path, FULL)
    spec = load_spec(path)
    assert spec == ElementSpec(
        name="element-demo",
        package="element_demo",
        version="0.2.3",
        description="a demo",
        path=path,
        install=InstallSpec(
            requirement="element-demo==0.2.3", no_deps=False, with_=("numpy", "pandas")
        ),
        modules=("element_demo.trial", "element_demo.other"),
        exclude=("element_demo.export",),
        stubs=("element_interface", "cv2"),
        timeout=60.0,
        upstream={"Subject": "element_animal.subject.Subject"},
        mock_tables={"Session": "subject: varchar(8)\nsession_datetime: datetime\n"},
        mock_functions=("get_extra_dir",),
        activations=(
            ActivateOverride(
                module="element_demo.trial",
                covers=("element_demo.event",),
                args={"trial_schema_name": "trial", "event_schema_name": "event"},
            ),
            ActivateOverride(
                module="element_demo.other",
                function="setup",
                args={"other_schema_name": "other", "verbose": True},
            ),
        ),
    )
    # Mappings are read-only views: a loaded spec cannot be changed by accident.
    with pytest.raises(TypeError):
        spec.upstream["Subject"] = "x"  # type: ignore[index]
    assert hash(spec) == hash(load_spec(path))


def test_minimal_spec_defaults(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, minimal()))
    assert (spec.version, spec.description, spec.install, spec.timeout) == (None, "", None, None)
    assert spec.modules == spec.exclude == spec.stubs == spec.mock_functions == ()
    assert dict(spec.upstream) == dict(spec.mock_tables) == {}
    assert spec.activations == ()
    assert spec.install_requirement_path is None


def test_install_defaults_and_requirement_path(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    wheel = tmp_path / "dist" / "element_demo-1.0-py3-none-any.whl"
    wheel.write_bytes(b"PK")
    spec = load_spec(write(tmp_path, minimal('[install]\nrequirement = "dist/' + wheel.name + '"')))
    assert spec.install == InstallSpec(requirement=f"dist/{wheel.name}")
    assert spec.install.no_deps is True
    assert spec.install_requirement_path == wheel.resolve()
    for requirement in ("element-demo==1.0", "git+https://example.org/element-demo"):
        other = load_spec(write(tmp_path, minimal(f'[install]\nrequirement = "{requirement}"')))
        assert other.install_requirement_path is None


def test_dotted_keys_at_top_level_are_accepted(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, minimal('check.stubs = ["cv2"]\n')))
    assert spec.stubs == ("cv2",)


# -------------------------------------------------------------------------- errors

# (body after name/package, dotted key named in the message, line, words in the message)
KEY_ERRORS = [
    pytest.param('stubs = ["cv2"]\n', "stubs", 3, "unknown key", id="unknown-top-level"),
    pytest.param(
        '[check]\nmodules = []\nstubz = ["cv2"]\n',
        "check.stubz",
        5,
        "unknown key",
        id="unknown-in-check",
    ),
    pytest.param(
        '[install]\nrequirement = "x"\nnodeps = true\n',
        "install.nodeps",
        5,
        "unknown key",
        id="unknown-in-install",
    ),
    pytest.param("[mock]\ntable = {}\n", "mock.table", 4, "unknown key", id="unknown-in-mock"),
    pytest.param(
        '[[activate]]\nmodule = "element_demo.a"\n\n[[activate]]\nmodule = "element_demo.b"\n'
        "argz = {}\n",
        "activate[1].argz",
        8,
        "unknown key",
        id="unknown-in-second-activate",
    ),
    pytest.param(
        '[check]\nstubs = "cv2"\n', "check.stubs", 4, "expected an array", id="list-as-string"
    ),
    pytest.param(
        '[check]\nstubs = [\n  "cv2",\n  3,\n]\n',
        "check.stubs",
        4,
        "an integer",
        id="list-item-type",
    ),
    pytest.param(
        '[check]\ntimeout = "60"\n', "check.timeout", 4, "expected a number", id="timeout-str"
    ),
    pytest.param(
        "[check]\ntimeout = true\n", "check.timeout", 4, "expected a number", id="timeout-bool"
    ),
    pytest.param("[check]\ntimeout = 0\n", "check.timeout", 4, "must be > 0", id="timeout-zero"),
    pytest.param("version = 1\n", "version", 3, "expected a string", id="version-int"),
    pytest.param(
        '[install]\nrequirement = "x"\nno_deps = "yes"\n',
        "install.no_deps",
        5,
        "expected a boolean",
        id="no-deps-str",
    ),
    pytest.param(
        "[install]\nno_deps = true\n",
        "install.requirement",
        3,
        "required key missing",
        id="requirement-missing",
    ),
    pytest.param('check = "all"\n', "check", 3, "expected a table", id="check-not-table"),
    pytest.param(
        "[upstream]\nSubject = 3\n", "upstream.Subject", 4, "expected a string", id="upstream-int"
    ),
    pytest.param(
        '[upstream]\nSubject = "Subject"\n',
        "upstream.Subject",
        4,
        "names no module",
        id="upstream-no-module",
    ),
    pytest.param(
        "[mock.tables]\nSession = 3\n", "mock.tables.Session", 4, "expected a string", id="mock-int"
    ),
    pytest.param(
        '[upstream]\nSession = "a.Session"\n[mock.tables]\nSession = "s: int"\n',
        "mock.tables.Session",
        6,
        "both mocked",
        id="mock-and-upstream",
    ),
    pytest.param(
        '[mock]\nfunctions = ["get dir"]\n',
        "mock.functions",
        4,
        "not a function name",
        id="function-name",
    ),
    pytest.param('activate = "all"\n', "activate", 3, "array of tables", id="activate-not-array"),
    pytest.param(
        '[[activate]]\nfunction = "activate"\n',
        "activate[0].module",
        3,
        "required key missing",
        id="activate-module-missing",
    ),
    pytest.param(
        '[[activate]]\nmodule = "element_demo.a"\n[[activate]]\nmodule = "element_demo.a"\n',
        "activate[1].module",
        6,
        "second [[activate]]",
        id="activate-duplicate",
    ),
    pytest.param(
        '[[activate]]\nmodule = "element_demo.a"\n[activate.args]\ntrial_schema_name = 3\n',
        "activate[0].args.trial_schema_name",
        6,
        "expected a string",
        id="schema-name-int",
    ),
    pytest.param(
        '[[activate]]\nmodule = "element_demo.a"\n[activate.args]\ntrial_schema_name = "a.b"\n',
        "activate[0].args.trial_schema_name",
        6,
        "schema stem",
        id="schema-name-dotted",
    ),
    pytest.param(
        '[check]\nmodules = ["element_other.trial"]\n',
        "check.modules",
        4,
        "not a module of package",
        id="module-outside-package",
    ),
    pytest.param(
        '[check]\nstubs = ["datajoint"]\n', "check.stubs", 4, "cannot be stubbed", id="stub-dj"
    ),
    pytest.param(
        '[check]\nstubs = ["cv2", "cv2"]\n', "check.stubs", 4, "twice", id="duplicate-item"
    ),
    pytest.param(
        '[check]\nmodules = ["element_demo.x.y"]\nexclude = ["element_demo.x"]\n',
        "check.exclude",
        5,
        "excludes",
        id="exclude-conflict",
    ),
    pytest.param(
        'package = "element-demo"\n',
        "package",
        3,
        "invalid TOML",
        id="duplicate-key-is-toml-error",
    ),
]


@pytest.mark.parametrize(("body", "key", "line", "words"), KEY_ERRORS)
def test_key_errors_name_file_key_line_and_hint(
    tmp_path: Path, body: str, key: str, line: int, words: str
) -> None:
    path = write(tmp_path, minimal(body))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    error = caught.value
    assert isinstance(error, ConfigurationError)
    assert error.path == path
    assert error.line == line, str(error)
    assert words in error.problem
    assert error.hint
    text = str(error)
    assert f"{path}:{line}" in text
    assert "hint:" in text
    if error.key is not None:
        assert error.key == key
        assert f"'{key}'" in text


def test_unknown_key_hint_lists_known_keys(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, minimal("[check]\nstub = []\n")))
    assert caught.value.hint is not None
    for known in ("modules", "exclude", "stubs", "timeout"):
        assert known in caught.value.hint


def test_key_inside_multiline_string_is_not_mistaken_for_a_key(tmp_path: Path) -> None:
    body = 'description = """\nstubz = 1\n"""\n[check]\nmodules = [\n  "x = 1",\n]\nstubz = 2\n'
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, minimal(body)))
    # Neither the text in the description nor the array item: the real key on line 10.
    assert (caught.value.key, caught.value.line) == ("check.stubz", 10)


def test_missing_required_top_level_key(tmp_path: Path) -> None:
    path = write(tmp_path, 'name = "element-demo"\n\n[check]\nmodules = []\n')
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert caught.value.key == "package"
    assert "required key missing" in str(caught.value)
    assert caught.value.line == 1


def test_name_must_equal_file_stem(tmp_path: Path) -> None:
    path = write(tmp_path, '\nname = "element-other"\npackage = "element_demo"\n')
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert (caught.value.key, caught.value.line) == ("name", 2)
    assert "element-demo.toml" in str(caught.value)
    assert "rename" in (caught.value.hint or "")


def test_invalid_toml_reports_tomllib_line(tmp_path: Path) -> None:
    path = write(tmp_path, minimal('\n[check]\nmodules = ["a"\ntimeout 5\n'))
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert "invalid TOML" in caught.value.problem
    assert caught.value.line == 6
    assert f"{path}:6" in str(caught.value)


def test_non_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "element-demo.toml"
    path.write_bytes(b'name = "element-demo"\npackage = "element_demo"\ndescription = "caf\xe9"\n')
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert "UTF-8" in caught.value.problem
    assert caught.value.line == 3


def test_binary_content(tmp_path: Path) -> None:
    path = tmp_path / "element-demo.toml"
    path.write_bytes(b'name = "element-demo"\n\x00\x01\x02')
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert "binary" in caught.value.problem
    assert caught.value.line == 2


def test_missing_file_and_directory(tmp_path: Path) -> None:
    missing = tmp_path / "element-none.toml"
    with pytest.raises(SpecError) as caught:
        load_spec(missing)
    assert "not found" in str(caught.value)
    assert str(missing) in str(caught.value)
    (tmp_path / "element-dir.toml").mkdir()
    with pytest.raises(SpecError, match="directory"):
        load_spec(tmp_path / "element-dir.toml")


# -------------------------------------------------------------------------- search


def test_search_dirs_and_find_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extra = tmp_path / "more"
    extra.mkdir()
    write(extra, minimal(), stem="element-demo")
    monkeypatch.setenv("HARNESS_SPEC_PATH", f"{extra}{__import__('os').pathsep}{tmp_path / 'no'}")
    dirs = spec_search_dirs()
    assert dirs[:2] == [ELEMENTS_DIR, ELEMENTS_DIR / "samples"]
    assert dirs[2:] == [extra]
    assert find_spec("element-demo") == extra / "element-demo.toml"
    assert find_spec("element-lab") == ELEMENTS_DIR / "element-lab.toml"
    assert find_spec("sample-clean") == ELEMENTS_DIR / "samples" / "sample-clean.toml"
    assert find_spec(str(extra / "element-demo.toml")) == extra / "element-demo.toml"
    assert find_spec("element-none") is None
    assert find_spec("element_lab") is None  # a package name, not a spec
    assert find_spec(str(tmp_path / "absent.toml")) is None


# ----------------------------------------------------------------- shipped specs

SHIPPED = sorted([*ELEMENTS_DIR.glob("*.toml"), *(ELEMENTS_DIR / "samples").glob("*.toml")])

REAL_ELEMENTS = {
    "element-lab": "0.3.0",
    "element-animal": "0.1.8",
    "element-session": "0.1.6",
    "element-event": "0.2.3",
    "element-calcium-imaging": "0.7.8",
    "element-array-ephys": "0.2.11",
    "element-deeplabcut": "0.2.8",
    "element-facemap": "0.1.7",
    "element-miniscope": "0.3.2",
    "element-optogenetics": "0.1.3",
    "element-zstack": "0.1.2",
    "element-electrode-localization": "0.1.4",
}


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_spec_loads(path: Path) -> None:
    spec = load_spec(path)
    assert spec.name == path.stem
    if path.parent.name == "samples":
        # Samples are imported from elements/samples/, never installed.
        assert spec.install is None
        assert (path.parent / spec.package / "__init__.py").is_file()
    else:
        assert spec.install is not None
        assert spec.version == REAL_ELEMENTS[spec.name]
        assert spec.version in spec.install.requirement


def test_every_real_element_has_a_spec() -> None:
    assert {p.stem for p in SHIPPED if p.parent == ELEMENTS_DIR} == set(REAL_ELEMENTS)
    assert len([p for p in SHIPPED if p.parent.name == "samples"]) >= 13


def test_every_key_is_documented() -> None:
    from harness.elements import spec as spec_module

    text = (ELEMENTS_DIR.parent / "docs" / "spec-format.md").read_text(encoding="utf-8")
    tables = {
        "": spec_module._TOP,
        "[install]": spec_module._INSTALL,
        "[check]": spec_module._CHECK,
        "[mock]": spec_module._MOCK,
        "[[activate]]": spec_module._ACTIVATE,
    }
    for table, keys in tables.items():
        assert f"### `{table}`" in text or not table
        for key in keys:
            assert f"| `{key}` |" in text or f"### `[{key}]`" in text or key == "activate", (
                f"docs/spec-format.md does not document {table}{key}"
            )
