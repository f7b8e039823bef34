"""The examples in README.md and docs/fixtures.md run as written.

They are extracted from the documents themselves, so a doc change that breaks
an example fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import MARIADB

from harness.activation import compat

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[1]


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


def test_documented_examples_run(pytester: pytest.Pytester) -> None:
    blocks = _python_blocks(ROOT / "README.md") + _python_blocks(ROOT / "docs" / "fixtures.md")
    assert len(blocks) >= 4
    for index, block in enumerate(blocks):
        pytester.makepyfile(**{f"test_example_{index}": block})
    pytester.makepyprojecttoml(f'[tool.harness]\ndb = "mariadb"\nimage = "{MARIADB}"\n')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA")
    if compat.major_version() < 2:
        result.assert_outcomes(passed=5)
    else:
        # element-event and element-session stop at `dj.schema` on DataJoint 2.x
        # (docs/compatibility.md); the lab and namespace examples still run.
        result.assert_outcomes(passed=3, failed=2)
        assert result.stdout.str().count("unsupported_datajoint") >= 2
