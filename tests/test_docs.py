"""docs/configuration.md stays true to harness.settings.OPTIONS."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.settings import OPTIONS, Option

CONFIGURATION = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def _option_row(name: str) -> str:
    rows = [
        line for line in CONFIGURATION.read_text().splitlines() if line.startswith(f"| {name} |")
    ]
    assert len(rows) == 1, f"docs/configuration.md needs exactly one table row for {name!r}"
    return rows[0]


@pytest.mark.parametrize("option", OPTIONS, ids=lambda option: option.name)
def test_every_option_is_documented_with_all_four_spellings(option: Option) -> None:
    row = _option_row(option.name)
    spellings = [option.pytest_flag, option.env_var, option.ini_key]
    if option.group != "pytest":  # the harness commands have no flag for pytest-only options
        spellings.append(option.cli_flag)
    for spelling in spellings:
        assert re.search(rf"`{re.escape(spelling)}[` ]", row), (
            f"{spelling} missing from the row of {option.name}"
        )


def test_no_documented_option_is_unknown() -> None:
    names = {option.name for option in OPTIONS}
    table = CONFIGURATION.read_text().split("## Options", 1)[1].split("\n## ", 1)[0]
    documented = {
        line.split("|")[1].strip()
        for line in table.splitlines()
        if line.startswith("| ") and not line.startswith(("| option", "|---"))
    }
    assert documented == names


#: Variables read by the harness or its libraries that are not harness options.
OTHER_VARIABLES = (
    "DJ_HOST",
    "DJ_PORT",
    "DJ_USER",
    "DJ_PASS",
    "DJ_BACKEND",
    "DOCKER_HOST",
    "TESTCONTAINERS_RYUK_DISABLED",
)


@pytest.mark.parametrize("variable", OTHER_VARIABLES)
def test_environment_variables_are_documented(variable: str) -> None:
    assert f"`{variable}`" in CONFIGURATION.read_text()
