"""Planned writes: create a file, leave it, keep a different one, or replace it.

``harness init`` never overwrites what a maintainer has without ``--force``; it
decides every file first, so that nothing is written when a later step fails,
then applies the plan and reports each file with the verb it earned.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CREATE, APPEND, REPLACE, UNCHANGED, KEPT = "created", "appended to", "replaced", "unchanged", "kept"
#: Statuses that write something.
WRITES = frozenset({CREATE, APPEND, REPLACE})


@dataclass(frozen=True)
class PlannedFile:
    """One file of the plan and what happens to it."""

    path: Path
    status: str
    content: bytes | None = None
    #: Why (for ``kept``: what differs and how to replace it).
    note: str = ""

    def apply(self) -> None:
        if self.status in WRITES and self.content is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_bytes(self.content)

    def line(self, repo: Path) -> str:
        try:
            shown = self.path.relative_to(repo).as_posix()
        except ValueError:
            shown = str(self.path)
        text = f"{self.status:11} {shown}"
        return f"{text}: {self.note}" if self.note else text


def plan_file(path: Path, content: bytes, *, force: bool, differs: str = "") -> PlannedFile:
    """Create ``path`` with ``content``; an equal file is unchanged, a different one kept.

    ``differs`` describes the difference for the report; ``force`` replaces instead.
    """
    if not path.exists():
        return PlannedFile(path, CREATE, content)
    if path.is_dir():
        return PlannedFile(path, KEPT, note="a directory is in the way")
    if path.read_bytes() == content:
        return PlannedFile(path, UNCHANGED)
    if force:
        return PlannedFile(path, REPLACE, content, differs)
    detail = differs or "differs from what harness init would write"
    return PlannedFile(path, KEPT, note=f"{detail} (--force replaces it)")
