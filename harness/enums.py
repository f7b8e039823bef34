"""String-valued enumerations: the harness's closed vocabularies (statuses, failure classes).

Members *are* their strings (``Status.PASSED == "passed"``, ``str()`` and f-strings
give the value, JSON writes it), so the JSON, JUnit, Markdown and HTML reports read
exactly as they did when these were plain string constants, while code gets a type
that names every allowed value.
"""

from __future__ import annotations

from enum import Enum


class StrEnum(str, Enum):
    """``enum.StrEnum`` for Python 3.10 too: ``str(member)`` and ``format`` give the value."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)
