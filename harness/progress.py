"""What ``harness check`` shows while it works: a live table on a terminal, plain lines elsewhere.

The engine knows nothing of displays; :func:`harness.session.run_checks` calls
``start``, ``step`` and ``finish`` of whichever display is chosen here (its
``on_start``, ``on_step`` and ``on_result`` callbacks). The
plain lines are the record (they go to stdout, also behind the live table);
the live table on stderr only shows what is pending and running and vanishes
when the run ends, so logs and redirected output read the same either way.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import IO, Any

from harness.reports.summary import real_upstream_text, stubs_text
from harness.results import ElementResult, Status

_LABELS = {"passed": "PASS", "failed": "FAIL", "error": "ERROR"}
#: Lines of a failed check's output shown without -v (the report keeps more).
OUTPUT_LINES = 5
_LINE_WIDTH = 160


def _clipped(line: str) -> str:
    return line if len(line) <= _LINE_WIDTH else line[: _LINE_WIDTH - 3] + "..."


def result_lines(result: ElementResult, verbose: bool) -> list[str]:
    """The plain report of one Element: status line, failure, failed checks; -v adds details."""
    total = sum(result.timings.values())
    label = _LABELS.get(result.status, "?")
    version = f" {result.version}" if result.version else ""
    lines = [
        f"{label:5} {result.name}{version}: {len(result.tables)} table(s) in "
        f"{len(result.schemas)} schema(s) ({total:.2f} s)"
    ]
    rendered = result.failure.render() if result.failure is not None else None
    if rendered is not None:
        lines += [f"      {line}" for line in rendered.splitlines()]
    for check in result.checks:
        if check.status == "failed" and check.detail != rendered:
            # Multi-line details (a manifest diff) stay indented under their Element.
            first, *rest = check.detail.splitlines() or [""]
            lines.append(f"      check {check.name} failed: {first}")
            lines += [f"        {line}" for line in rest]
    if result.output:
        shown = result.output if verbose else result.output[-OUTPUT_LINES:]
        lines.append(f"      output of the check (last {len(shown)} lines):")
        lines += [f"        {_clipped(line)}" for line in shown]
    if verbose:
        timing = ", ".join(f"{key[:-2]} {value:.3f} s" for key, value in result.timings.items())
        lines.append(f"      time: {timing}")
        if result.mocked_tables or result.mocked_functions:
            lines.append(
                f"      mocked: tables {', '.join(result.mocked_tables) or '-'}; "
                f"functions {', '.join(result.mocked_functions) or '-'}"
            )
        if real_upstream_text(result):
            lines.append(f"      real upstream: {real_upstream_text(result)}")
        if result.stubbed_imports:
            lines.append(f"      stubbed imports: {stubs_text(result)}")
        lines += [f"      warning: {warning}" for warning in result.warnings]
    return lines


class PlainProgress:
    """Lines on stdout as each Element finishes; ``quiet`` keeps only failures."""

    def __init__(self, *, verbose: bool = False, quiet: bool = False) -> None:
        self.verbose = verbose
        self.quiet = quiet

    def start(self, target: Any) -> None:
        pass

    def step(self, target: Any, name: str) -> None:
        pass

    def finish(self, result: ElementResult) -> None:
        if self.quiet and result.status == Status.PASSED:
            return
        for line in result_lines(result, self.verbose):
            print(line)

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


class LiveProgress(PlainProgress):
    """A ``rich`` table on stderr: each Element pending, running (with its step) or done."""

    def __init__(self, names: Sequence[str], *, verbose: bool = False) -> None:
        super().__init__(verbose=verbose)
        self.rows: dict[str, list[Any]] = {name: ["pending", "", None] for name in names}
        self._live: Any = None

    def _table(self) -> Any:
        from rich.table import Table

        styles = {"pending": "dim", "running": "yellow", "passed": "green"}
        table = Table(box=None, show_header=False, padding=(0, 1))
        for name, (state, step, started) in self.rows.items():
            elapsed = f"{time.monotonic() - started:5.1f} s" if state == "running" else ""
            style = styles.get(state, "bold red")
            table.add_row(f"[{style}]{state:8}[/]", name, f"[dim]{step}[/]", elapsed)
        return table

    def start(self, target: Any) -> None:
        self.rows[target.name] = ["running", "", time.monotonic()]

    def step(self, target: Any, name: str) -> None:
        self.rows[target.name][1] = name

    def finish(self, result: ElementResult) -> None:
        self.rows[result.name] = [result.status, "", None]
        super().finish(result)

    def __enter__(self) -> LiveProgress:
        from rich.console import Console
        from rich.live import Live

        self._live = Live(
            get_renderable=self._table,
            console=Console(file=sys.stderr),
            refresh_per_second=8,
            transient=True,
            # Lines for stdout go above the table only when stdout is that terminal too.
            redirect_stdout=sys.stdout.isatty(),
            redirect_stderr=False,
        )
        self._live.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)


def wants_live(stream: IO[str], environ: Mapping[str, str]) -> bool:
    """A live display only on a terminal, and never when ``NO_COLOR`` is set (any value)."""
    return stream.isatty() and "NO_COLOR" not in environ


def choose_progress(
    names: Sequence[str],
    *,
    verbose: bool = False,
    quiet: bool = False,
    stream: IO[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> PlainProgress:
    """The live table when stderr is a terminal (and not ``-q``), else plain lines."""
    stream = sys.stderr if stream is None else stream
    environ = os.environ if environ is None else environ
    if not quiet and wants_live(stream, environ):
        return LiveProgress(names, verbose=verbose)
    return PlainProgress(verbose=verbose, quiet=quiet)
