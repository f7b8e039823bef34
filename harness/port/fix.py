"""Apply the mechanical replacements in place, until none is left.

Edits replace character spans computed from the AST, so the rest of a file keeps
its author's formatting. Two edits can nest (``dj.ERD`` inside the arguments of a
``fetch`` being rewritten); the outer one is applied and the inner one found
again by the next scan. Scanning until no mechanical finding remains is what
makes a second ``--write`` change nothing.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessError
from harness.port.findings import Edit
from harness.port.scan import ScanResult

#: A rewrite needs one pass per nesting level; Elements nest two at most.
MAX_PASSES = 8


@dataclass
class WriteResult:
    """Which files changed, their unified diff, and the scan of the rewritten tree."""

    changed: list[str] = field(default_factory=list)
    diff: str = ""
    applied: int = 0
    after: ScanResult | None = None


def apply_edits(text: str, edits: list[Edit]) -> tuple[str, int]:
    """``text`` with every edit that does not overlap an earlier one; how many applied."""
    chosen: list[Edit] = []
    for edit in sorted(edits, key=lambda edit: (edit.start, -edit.end)):
        if chosen and edit.start < chosen[-1].end:
            continue  # nested in (or overlapping) the one before: the next pass
        chosen.append(edit)
    for edit in reversed(chosen):
        text = text[: edit.start] + edit.text + text[edit.end :]
    return text, len(chosen)


def write_fixes(package_dir: Path, scan: Callable[[Path], ScanResult]) -> WriteResult:
    """Rewrite ``package_dir`` until its scan has no mechanical finding left."""
    originals: dict[Path, str] = {}
    result = WriteResult()
    current = scan(package_dir)
    for _ in range(MAX_PASSES):
        by_file: dict[Path, list[Edit]] = {}
        for finding in current.findings:
            if finding.edit is not None:
                by_file.setdefault(finding.edit.file, []).append(finding.edit)
        if not by_file:
            break
        for path, edits in by_file.items():
            text = path.read_bytes().decode("utf-8")
            originals.setdefault(path, text)
            new_text, count = apply_edits(text, edits)
            result.applied += count
            _write(path, new_text)
        current = scan(package_dir)
    else:
        raise HarnessError(
            f"the mechanical rewrite of {package_dir} did not settle after {MAX_PASSES} passes",
            hint="report this with the file; the files are left as the last pass wrote them",
        )
    root = package_dir.parent
    for path in sorted(originals):
        after = path.read_bytes().decode("utf-8")
        if after == originals[path]:
            continue
        relative = path.relative_to(root).as_posix()
        result.changed.append(relative)
        result.diff += "".join(
            difflib.unified_diff(
                originals[path].splitlines(keepends=True),
                after.splitlines(keepends=True),
                fromfile=f"a/{relative}",
                tofile=f"b/{relative}",
            )
        )
    result.after = current
    return result


def _write(path: Path, text: str) -> None:
    """Write ``text`` keeping the file's mode, and drop the module's bytecode caches.

    A cached ``.pyc`` is trusted when the source's size and mtime (in whole seconds)
    match its header; a rewrite that keeps the size (``longblob      `` becoming
    ``<blob>        ``) right after an install would otherwise import the old code.
    """
    try:
        with path.open("w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        for cached in (path.parent / "__pycache__").glob(f"{path.stem}.*.pyc"):
            cached.unlink()
    except OSError as exc:
        raise HarnessError(
            f"cannot rewrite {path}: {exc.strerror or exc}",
            hint="make the Element's source tree writable, or port a copy of it",
        ) from None
