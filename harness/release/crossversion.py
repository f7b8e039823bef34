"""Between DataJoint lines: which differences are DataJoint 2's markers and codecs.

The same definition declared under DataJoint 0.14 and under DataJoint 2 gives
the same tables, keys and foreign keys on MySQL, but not byte-identical
columns: DataJoint 2 records the type an attribute was declared with at the
start of the column comment (``:int32:``, ``:varchar(32):``, ``:<blob>:``), where
0.14 records only its own adapted and external types (``:uuid:``,
``:attach@store:``), and DataJoint 2's codecs for external content (``<attach@s>``,
``<blob@s>``, ``<filepath@s>``) store a JSON description where 0.14 stored the
16-byte key of a row in ``~external_<store>``.

A database declared by the old release can be used by the new one when only
such differences remain, after the migration step each names; they are not
breaking. Anything else is classified by :mod:`harness.release.classify` as
within one line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from harness.manifest import Change

MIGRATION = "migration"
#: The rule of a step DataJoint 2 needs to read the data right, and of one it does not.
REQUIRED = "DataJoint 2 codecs: required"
OPTIONAL = "DataJoint 2 type markers: optional"
#: DataJoint 0.14's external kinds whose stored representation a DataJoint 2 codec replaces.
_EXTERNAL = ("attach@", "blob@", "filepath@")


def crosses_lines(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether the two manifests were declared by DataJoint 0.x and DataJoint 2.x or later."""
    majors = old.get("datajoint_major"), new.get("datajoint_major")
    return None not in majors and majors[0] != majors[1]


def _codec(core: str | None) -> str | None:
    """``<blob@store>`` -> ``blob@store``; None for a core type that is no codec."""
    if core and core.startswith("<") and core.endswith(">"):
        return core[1:-1]
    return None


def _same_meaning(old_core: str | None, new_core: str | None) -> bool:
    """0.14's ``attach@s`` and DataJoint 2's ``<attach@s>`` name one kind of content."""
    return old_core is not None and _codec(new_core) == old_core


def migration_step(
    change: Change, before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[str, str] | None:
    """(step, rule) a 0.14 database needs for ``change``; None when it is no marker/codec one.

    The rule is :data:`REQUIRED` where DataJoint 2 would misread the data without
    the step (a codec's marker or stored form), :data:`OPTIONAL` where it only
    records a core type DataJoint 2 also reads from the column's own type.
    """
    old_core, new_core = before.get("core_type"), after.get("core_type")
    if change.kind == "core_type":
        if _codec(new_core) and old_core is None:
            return (
                f"mark the column for DataJoint 2's {new_core} codec: its comment must begin "
                f"with `:{new_core}:` (without it DataJoint 2 reads {after.get('type')} as "
                "raw bytes)",
                REQUIRED,
            )
        if _codec(new_core) and _same_meaning(old_core, new_core):
            return f"0.14's {old_core} becomes the codec {new_core}: rewrite the marker", REQUIRED
        if old_core is None and new_core is not None:
            return (
                f"DataJoint 2 records the core type `:{new_core}:` in the comment; "
                f"it reads the column as {after.get('type')} without it",
                OPTIONAL,
            )
        if old_core is not None and new_core is None:
            return f"DataJoint 2 records no `:{old_core}:` marker here", OPTIONAL
        return None
    if (
        change.kind == "type"
        and _same_meaning(old_core, new_core)
        and str(old_core).startswith(_EXTERNAL)
    ):
        return (
            f"convert the stored values ({before.get('type')} -> {after.get('type')}): each row's "
            f"key into 0.14's external table becomes the JSON description of {new_core}",
            REQUIRED,
        )
    return None


def needs_steps(rules: Iterable[str]) -> bool:
    """Whether any migration step (by its rule) must be taken before DataJoint 2 uses the data."""
    return REQUIRED in rules
