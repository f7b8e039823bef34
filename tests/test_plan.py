"""Activation plans read from Element source and signatures (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.activation.discovery import ModuleSource, read_module
from harness.activation.plan import (
    PlanError,
    activated_modules,
    activation_groups,
    choose_modules,
    order_by_imports,
    step_from_signature,
)


def _source(tmp_path: Path, name: str, text: str) -> ModuleSource:
    path = tmp_path / (name.rsplit(".", 1)[-1] + ".py")
    path.write_text(text, encoding="utf-8")
    source = read_module(name, path)
    assert source is not None
    return source


TRIAL = """
import datajoint as dj
from . import event
schema = dj.schema()
def activate(trial_schema_name, event_schema_name, *, create_schema=True,
             create_tables=True, linking_module=None):
    event.activate(event_schema_name, linking_module=linking_module)
    schema.activate(trial_schema_name)
"""
EVENT = """
import datajoint as dj
schema = dj.Schema()
def activate(schema_name, *, create_schema=True, create_tables=True, linking_module=None):
    schema.activate(schema_name)
"""


def test_deferred_schema_and_activate_found_by_ast(tmp_path: Path) -> None:
    source = _source(tmp_path, "pkg.trial", TRIAL)
    assert source.deferred_schemas == ("schema",) and source.has_activate
    named = _source(tmp_path, "pkg.named", "import datajoint as dj\nschema = dj.Schema('x')\n")
    assert named.deferred_schemas == ()


def test_covered_modules_are_not_activated_twice(tmp_path: Path) -> None:
    sources = {
        "pkg.trial": _source(tmp_path, "pkg.trial", TRIAL),
        "pkg.event": _source(tmp_path, "pkg.event", EVENT),
    }
    assert activated_modules(sources["pkg.trial"], "pkg") == ["pkg.event"]
    chosen, covers = choose_modules(sources, "pkg", ())
    assert chosen == ["pkg.trial"]
    assert covers["pkg.trial"] == ["pkg.event"]


def test_variants_sharing_a_module_get_separate_groups() -> None:
    covers = {"e.acute": ["e.probe"], "e.chronic": ["e.probe"], "e.report": []}
    assert activation_groups(["e.acute", "e.chronic", "e.report"], covers) == [
        ["e.acute", "e.report"],
        ["e.chronic"],
    ]


def test_module_importing_another_is_activated_after_it(tmp_path: Path) -> None:
    sources = {
        "pkg.bossdb": _source(tmp_path, "pkg.bossdb", "from . import volume\n"),
        "pkg.volume": _source(tmp_path, "pkg.volume", "import datajoint\n"),
    }
    assert order_by_imports(["pkg.bossdb", "pkg.volume"], sources, "pkg") == [
        "pkg.volume",
        "pkg.bossdb",
    ]


def test_schema_parameters_get_stems_and_linking_module_is_passed() -> None:
    def activate(  # the signature of element-event's trial.activate
        trial_schema_name,
        event_schema_name,
        *,
        create_schema=True,
        create_tables=True,
        linking_module=None,
    ):  # type: ignore[no-untyped-def]
        return None

    step = step_from_signature("pkg.trial", activate, ["pkg.event"])
    args, kwargs = step.arguments("eh_x", "LINK")
    assert args == []
    assert kwargs["trial_schema_name"] == "eh_x_trial"
    assert kwargs["event_schema_name"] == "eh_x_event"
    assert kwargs["linking_module"] == "LINK"
    assert kwargs["create_schema"] is True


def test_required_parameter_without_default_is_a_plan_error() -> None:
    def activate(schema_name, mystery):  # type: ignore[no-untyped-def]
        return None

    with pytest.raises(PlanError, match="mystery"):
        step_from_signature("pkg.odd", activate, [])
