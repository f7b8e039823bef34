"""Exact comparison of an inserted value with the one fetched back, and short descriptions.

Arrays are equal when dtype, shape and values are; dicts and lists element by
element; attachments and file paths by the file's name and bytes. A difference
is described for a human: for a blob the returned Python type and a short repr,
so that "stored the text of the array" is visible at a glance.
"""

from __future__ import annotations

import datetime
import decimal
from pathlib import Path
from typing import Any

SHORT = 60


def short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHORT else text[: SHORT - 3] + "..."


def describe(value: Any) -> str:
    """``numpy.ndarray float64 (3, 4)``, ``dict with keys ...``, else type and short repr."""
    if _is_array(value):
        return f"numpy.ndarray {value.dtype} {tuple(value.shape)}"
    if isinstance(value, dict):
        return f"dict with keys {sorted(map(str, value))}"
    if isinstance(value, Path):
        return f"file {value.name}"
    return f"{_type_name(value)} {short_repr(value)}"


def _type_name(value: Any) -> str:
    kind = type(value)
    module = kind.__module__
    return kind.__name__ if module == "builtins" else f"{module.split('.')[0]}.{kind.__name__}"


def _is_array(value: Any) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "dtype") and hasattr(value, "shape")


def same(kind: str, inserted: Any, returned: Any) -> bool:
    """Whether ``returned`` is ``inserted`` come back unchanged (for a column of ``kind``)."""
    if inserted is None or returned is None:
        return inserted is None and returned is None
    if kind in {"attach", "filepath"}:
        return _same_file(kind, inserted, returned)
    if kind == "blob":
        return _same_structure(inserted, returned)
    if kind == "bool":
        return bool(returned) == inserted and not isinstance(returned, (str, bytes))
    if kind == "int":
        return _is_integer(returned) and int(returned) == inserted
    if kind == "decimal":
        return isinstance(returned, decimal.Decimal) and returned == inserted
    if kind in {"float32", "float64"}:
        return isinstance(returned, (float, int)) or _is_array(returned)
    if kind in {"datetime", "timestamp"}:
        return isinstance(returned, datetime.datetime) and returned == inserted
    if kind == "date":
        return (
            isinstance(returned, datetime.date)
            and not isinstance(returned, datetime.datetime)
            and returned == inserted
        )
    return type(returned) is type(inserted) and returned == inserted


def same_value(kind: str, inserted: Any, returned: Any) -> bool:
    """:func:`same`, plus equality for floats (checked apart from their type)."""
    if not same(kind, inserted, returned):
        return False
    if kind in {"float32", "float64"} and inserted is not None:
        return float(returned) == inserted
    return True


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return _is_array(value) and value.dtype.kind in "iu" and value.shape == ()


def _same_structure(inserted: Any, returned: Any) -> bool:
    if _is_array(inserted):
        import numpy

        return (
            _is_array(returned)
            and returned.dtype == inserted.dtype
            and returned.shape == inserted.shape
            and bool(numpy.array_equal(returned, inserted))
        )
    if isinstance(inserted, dict):
        return (
            isinstance(returned, dict)
            and set(returned) == set(inserted)
            and all(_same_structure(inserted[key], returned[key]) for key in inserted)
        )
    if isinstance(inserted, (list, tuple)):
        return (
            isinstance(returned, (list, tuple))
            and len(returned) == len(inserted)
            and all(_same_structure(a, b) for a, b in zip(inserted, returned, strict=True))
        )
    if isinstance(inserted, (int, float, str)):
        return not isinstance(returned, (bytes, dict, list)) and returned == inserted
    return type(returned) is type(inserted) and returned == inserted


def _same_file(kind: str, inserted: Path, returned: Any) -> bool:
    """The fetched attachment (a downloaded path) or file reference holds the same bytes."""
    read = getattr(returned, "read", None)
    if callable(read) and not isinstance(returned, (str, Path)):  # 2.x ObjectRef
        path = str(getattr(returned, "path", ""))
        return path.endswith(inserted.name) and read() == inserted.read_bytes()
    if not isinstance(returned, (str, Path)):
        return False
    path = Path(returned)
    return (
        path.name == inserted.name and path.is_file() and path.read_bytes() == inserted.read_bytes()
    )
