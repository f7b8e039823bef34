"""The option registry: one declaration, four spellings, one precedence order."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from harness.cli import build_parser, settings_from_args
from harness.errors import ConfigurationError
from harness.settings import (
    OPTIONS,
    OPTIONS_BY_NAME,
    Settings,
    load_pyproject_table,
    resolve_settings,
)

#: Per option: (command-line value, environment text, pyproject value, expected from each).
#: A new option without an entry here fails ``test_every_option_has_samples``.
SAMPLES: dict[str, tuple[Any, str, Any, tuple[Any, Any, Any]]] = {
    "db": ("postgresql", "mariadb", "pg", ("postgresql", "mariadb", "postgresql")),
    "image": ("a:1", "b:2", "c:3", ("a:1", "b:2", "c:3")),
    "external": (
        "mysql://u:p@cli:1",
        "mysql://u:p@env:2",
        "mysql://u:p@toml:3",
        ("mysql://u:p@cli:1", "mysql://u:p@env:2", "mysql://u:p@toml:3"),
    ),
    "reuse": (False, "yes", True, (False, True, True)),
    "tls": (True, "no", True, (True, False, True)),
    "insecure": (False, "1", False, (False, True, False)),
    "tls_ca": (
        "/cli/ca.pem",
        "/env/ca.pem",
        "ca.pem",
        ("/cli/ca.pem", "/env/ca.pem", "/somewhere/ca.pem"),
    ),
    "startup_timeout": (7.0, "8.5", 9, (7.0, 8.5, 9.0)),
    "timeout": (1.5, "2", 3.25, (1.5, 2.0, 3.25)),
    "jobs": (3, "2", 4, (3, 2, 4)),
    "stub_missing": (True, "off", False, (True, False, False)),
    "update_manifests": (True, "0", True, (True, False, True)),
    # A negated option: the flag and the variable say "no data", the key says "data".
    "data": (True, "no", False, (False, True, False)),
    "data_seed": (5, "6", 7, (5, 6, 7)),
    "report": ("cli-dir", "env-dir", "toml-dir", ("cli-dir", "env-dir", "toml-dir")),
    # Paths are made absolute; a relative pyproject value is taken from the file's directory.
    "manifest_dir": (
        "/from/cli",
        "/from/env",
        "toml-dir",
        ("/from/cli", "/from/env", "/somewhere/toml-dir"),
    ),
    "elements": (
        ("cli",),
        "env-a, env-b,,",
        ["toml-a", "toml-b"],
        (("cli",), ("env-a", "env-b"), ("toml-a", "toml-b")),
    ),
}


def test_every_option_has_samples() -> None:
    assert set(SAMPLES) == set(OPTIONS_BY_NAME)


@pytest.mark.parametrize("option", OPTIONS, ids=lambda option: option.name)
def test_precedence_cli_env_pyproject_default(option: Any) -> None:
    cli, env_text, toml, (from_cli, from_env, from_toml) = SAMPLES[option.name]
    environ = {option.env_var: env_text}
    table = {option.ini_key: toml}
    path = Path("/somewhere/pyproject.toml")

    everything = resolve_settings({option.name: cli}, environ, table, path)
    assert getattr(everything, option.name) == from_cli
    assert everything.sources[option.name] == "command line"

    no_cli = resolve_settings({option.name: None}, environ, table, path)
    assert getattr(no_cli, option.name) == from_env
    assert no_cli.sources[option.name] == option.env_var

    only_toml = resolve_settings({}, {}, table, path)
    assert getattr(only_toml, option.name) == from_toml
    assert only_toml.sources[option.name] == str(path)

    nothing = resolve_settings({}, {}, {}, None)
    assert getattr(nothing, option.name) == option.default == getattr(Settings(), option.name)
    assert nothing.sources[option.name] == "default"


def test_empty_environment_value_counts_as_unset() -> None:
    settings = resolve_settings({}, {"HARNESS_DB": ""}, {"db": "mariadb"}, None)
    assert settings.db == "mariadb"


def test_unknown_pyproject_key_names_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.harness]\nbackend = "mysql"\n')
    table, path = load_pyproject_table(tmp_path)
    with pytest.raises(ConfigurationError) as caught:
        resolve_settings({}, {}, table, path)
    message = str(caught.value)
    assert str(tmp_path / "pyproject.toml") in message
    assert "'backend'" in message
    assert "known keys: " in message and "db" in message


def test_keys_of_other_parts_and_hyphenated_keys_are_accepted() -> None:
    table = {"reports": "somewhere", "startup-timeout": 5}
    settings = resolve_settings({}, {}, table, None, known_extra_keys=frozenset({"reports"}))
    assert settings.startup_timeout == 5.0
    with pytest.raises(ConfigurationError, match="unknown key 'reports'"):
        resolve_settings({}, {}, table, None)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("reuse", "yes"),
        ("reuse", 1),
        ("startup_timeout", "10"),
        ("startup_timeout", True),
        ("db", 3),
        ("jobs", "2"),
        ("jobs", True),
        ("image", ["mariadb:10.11"]),
        ("elements", "element-lab"),
        ("elements", ["element-lab", 2]),
    ],
)
def test_wrong_toml_type_is_an_error(key: str, value: Any) -> None:
    path = Path("/project/pyproject.toml")
    with pytest.raises(ConfigurationError) as caught:
        resolve_settings({}, {}, {key: value}, path)
    message = str(caught.value)
    assert str(path) in message
    assert repr(key) in message
    assert OPTIONS_BY_NAME[key].kind in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        (" on ", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("off", False),
    ],
)
def test_bool_from_environment(text: str, expected: bool) -> None:
    assert resolve_settings({}, {"HARNESS_REUSE": text}).reuse is expected


@pytest.mark.parametrize(
    ("text", "expected"), [("2.5", 2.5), ("30", 30.0), ("1e1", 10.0), (" 4 ", 4.0)]
)
def test_float_from_environment(text: str, expected: float) -> None:
    assert resolve_settings({}, {"HARNESS_STARTUP_TIMEOUT": text}).startup_timeout == expected


@pytest.mark.parametrize(
    ("variable", "text"),
    [
        ("HARNESS_REUSE", "maybe"),
        ("HARNESS_STARTUP_TIMEOUT", "soon"),
        ("HARNESS_STARTUP_TIMEOUT", "0"),
        ("HARNESS_STARTUP_TIMEOUT", "-3"),
        ("HARNESS_DB", "oracle"),
    ],
)
def test_bad_environment_value_names_the_variable(variable: str, text: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve_settings({}, {variable: text})
    assert variable in str(caught.value)


def test_backend_aliases() -> None:
    assert resolve_settings({}, {"HARNESS_DB": "Postgres"}).db == "postgresql"
    assert resolve_settings({}, {"HARNESS_DB": "MariaDB"}).db == "mariadb"


def test_nearest_pyproject_above_the_start_directory(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.harness]\ndb = "mariadb"\n')
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    table, path = load_pyproject_table(nested)
    assert table == {"db": "mariadb"}
    assert path == tmp_path / "pyproject.toml"


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.harness\n")
    with pytest.raises(ConfigurationError, match="not valid TOML") as caught:
        load_pyproject_table(tmp_path)
    assert str(tmp_path / "pyproject.toml") in str(caught.value)


def _parse_cli(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["smoke", *argv])


def test_cli_flags_beat_environment_and_pyproject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.harness]\ndb = "mysql"\nstartup_timeout = 50\nimage = "from-toml:1"\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HARNESS_DB", "mariadb")
    monkeypatch.setenv("HARNESS_STARTUP_TIMEOUT", "40")
    settings = settings_from_args(_parse_cli("--db", "pg", "--reuse", "--startup-timeout", "5"))
    assert (settings.db, settings.reuse, settings.startup_timeout) == ("postgresql", True, 5.0)
    assert settings.image == "from-toml:1"
    assert settings.sources["image"] == str(tmp_path / "pyproject.toml")


def test_cli_rejects_a_bad_value_with_usage_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        _parse_cli("--startup-timeout", "never")
    assert caught.value.code == 2
    assert "--startup-timeout" in capsys.readouterr().err


def test_pytest_flags_environment_and_pyproject(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyprojecttoml('[tool.harness]\nimage = "from-toml:1"\nstartup_timeout = 50\n')
    monkeypatch.setenv("HARNESS_DB", "mariadb")
    monkeypatch.setenv("HARNESS_STARTUP_TIMEOUT", "40")
    pytester.makepyfile(
        """
        def test_settings(harness_settings):
            assert harness_settings.db == "postgresql"
            assert harness_settings.reuse is True
            assert harness_settings.startup_timeout == 40.0
            assert harness_settings.image == "from-toml:1"
        """
    )
    result = pytester.runpytest("--harness-db", "pg", "--harness-reuse", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_pytest_unknown_pyproject_key_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.harness]\nstartup_timout = 5\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*pyproject.toml*unknown key 'startup_timout'*"])


def test_relative_manifest_dir_from_cwd_on_the_command_line_and_pyproject_dir_in_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "element"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text('[tool.harness]\nmanifest_dir = "tests/manifests"\n')
    monkeypatch.chdir(project / "src")  # started below the project: the file's value still holds
    table, path = load_pyproject_table(Path.cwd())
    from_file = resolve_settings({}, {}, table, path)
    assert from_file.manifest_dir == str(project / "tests" / "manifests")
    from_cli = resolve_settings({"manifest_dir": "mine"}, {}, table, path)
    assert from_cli.manifest_dir == str(project / "src" / "mine")
    from_env = resolve_settings({}, {"HARNESS_MANIFEST_DIR": "../env"}, table, path)
    assert from_env.manifest_dir == str(project / "env")
    home = resolve_settings({"manifest_dir": "~/manifests"}, {}, {}, None)
    assert home.manifest_dir == str(Path.home() / "manifests")


def test_manifest_dir_flags_on_check_deploy_and_init() -> None:
    for command in (["check", "x"], ["deploy", "p", "--target", "mysql://h"], ["init"]):
        args = build_parser().parse_args([*command, "--manifest-dir", "here"])
        assert args.manifest_dir == "here"
    with pytest.raises(SystemExit):  # init always records manifests: the flag would mislead
        build_parser().parse_args(["init", "--update-manifests"])
