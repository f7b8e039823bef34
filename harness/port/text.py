"""One Python file's text, with ``ast`` positions turned into character offsets.

``ast`` reports columns in UTF-8 bytes; edits work on the decoded text. Keeping
that conversion in one place is what lets a fix touch only the characters at
fault in a file with non-ASCII comments.
"""

from __future__ import annotations

import ast
import bisect
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class SourceText:
    """A file's text and where each of its lines starts."""

    path: Path
    text: str
    _starts: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        starts, position = [0], 0
        for line in self.text.splitlines(keepends=True):
            position += len(line)
            starts.append(position)
        self._starts = starts

    @classmethod
    def read(cls, path: Path) -> SourceText:
        return cls(path, path.read_bytes().decode("utf-8"))

    def line_text(self, line: int) -> str:
        """Line ``line`` (1-based) without its line ending."""
        start, end = self._starts[line - 1], self._starts[min(line, len(self._starts) - 1)]
        return self.text[start:end].rstrip("\r\n")

    def offset(self, line: int, byte_col: int) -> int:
        """The character offset of ``ast``'s (line, byte column)."""
        head = self.line_text(line).encode("utf-8")[:byte_col]
        return self._starts[line - 1] + len(head.decode("utf-8", errors="replace"))

    def position(self, offset: int) -> tuple[int, int]:
        """(1-based line, 1-based column in characters) of a character offset."""
        index = min(bisect.bisect_right(self._starts, offset) - 1, max(len(self._starts) - 2, 0))
        return index + 1, offset - self._starts[index] + 1

    def span(self, node: ast.AST) -> tuple[int, int]:
        """The character offsets a node covers."""
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def line_start(self, line: int) -> int:
        return self._starts[line - 1]

    def line_end(self, line: int) -> int:
        """The offset just after line ``line``'s line ending."""
        return self._starts[min(line, len(self._starts) - 1)]
