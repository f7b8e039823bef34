"""Parsing `->` references and deciding what a mock must look like (no server needed)."""

from __future__ import annotations

from harness.activation.linking import (
    LinkingRequirements,
    analyze_source,
    linking_assignments,
    split_reference,
)
from harness.activation.mocks import mock_definition, mock_part_definition
from harness.activation.references import parse_references

DEFINITION = """
# a session
-> Subject
session_id: int
---
-> [nullable] Device
-> Subject.proj(father="subject")
-> reference.Atlas.proj(target_region='region_acronym')  # qualified and renamed
-> probe.ProbeType.Electrode
note: varchar(32)  # -> not a reference
"""


def test_parse_references_reads_targets_options_and_renames() -> None:
    references = parse_references(DEFINITION)
    assert [r.target for r in references] == [
        "Subject",
        "Device",
        "Subject",
        "reference.Atlas",
        "probe.ProbeType.Electrode",
    ]
    assert [r.primary for r in references] == [True, False, False, False, False]
    assert references[1].nullable and not references[0].nullable
    assert references[2].demanded_attributes == ("subject",)
    assert references[3].demanded_attributes == ("region_acronym",)
    assert references[3].line == 8


def test_split_reference_separates_namespace_table_and_part() -> None:
    assert split_reference("Subject") == (None, "Subject", None)
    assert split_reference("subject.Subject") == ("subject", "Subject", None)
    assert split_reference("probe.ProbeType.Electrode") == ("probe", "ProbeType", "Electrode")
    assert split_reference("Session.Trial") == (None, "Session", "Trial")


def test_linking_functions_required_and_optional_from_source() -> None:
    import ast

    tree = ast.parse(
        "def activate(linking_module):\n"
        "    assert hasattr(linking_module, 'get_raw_dir')\n"
        "    if hasattr(linking_module, 'get_processed_dir'):\n"
        "        pass\n"
        "def path(key):\n"
        "    return _linking_module.get_session_directory(key), _linking_module.Session\n"
        "def maybe():\n"
        "    return getattr(_linking_module, 'get_extra', None)\n"
    )
    requirements = LinkingRequirements()
    analyze_source([tree], requirements)
    assert requirements.required_functions == {"get_raw_dir", "get_session_directory"}
    assert requirements.optional_functions == {"get_processed_dir", "get_extra"}
    assert set(requirements.tables) == {"Session"}


def test_linking_assignments_found_in_tuple_assignments() -> None:
    import ast

    tree = ast.parse(
        "def activate(linking_module):\n"
        "    global probe, ProbeInsertion\n"
        "    ProbeInsertion, probe = _linking_module.ProbeInsertion, _linking_module.probe\n"
    )
    assert linking_assignments(tree) == {"ProbeInsertion": "ProbeInsertion", "probe": "probe"}


def test_mock_primary_key_satisfies_proj_renames() -> None:
    from harness.activation.linking import UpstreamTable

    plain = UpstreamTable("Session")
    renamed = UpstreamTable("Subject", demanded_attributes={"subject"})
    assert "session_id:" in mock_definition(plain)
    assert "\nsubject: varchar(64)" in mock_definition(renamed)
    assert mock_part_definition("Electrode", set()).startswith("-> master\nelectrode_id:")
