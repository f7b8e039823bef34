"""DataJoint's log records and Python warnings raised during a check, as report lines."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

from harness.redact import redact_text
from harness.results import ElementResult


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(redact_text(f"{record.name}: {record.getMessage()}"))


def _explain(message: str) -> str:
    lowered = message.lower()
    if "longblob" in lowered and ("raw bytes" in lowered or "<blob>" in lowered):
        return (
            f"{message} -- under DataJoint 2.x a bare longblob stores raw bytes: values "
            "written by DataJoint 0.14 (serialised arrays) will not round-trip; declare "
            "<blob> instead"
        )
    return message


def _worth_reporting(warning: warnings.WarningMessage, package: str) -> bool:
    """DataJoint's and the Element's warnings; not other libraries' deprecations."""
    if not issubclass(warning.category, (DeprecationWarning, PendingDeprecationWarning)):
        return True
    return f"/{package}/" in warning.filename


@contextlib.contextmanager
def reported_warnings(result: ElementResult, package: str) -> Iterator[None]:
    """Route DataJoint's log records and warnings into the report, not the terminal."""
    collector = _Collector()
    datajoint_logger = logging.getLogger("datajoint")
    own_handlers = list(datajoint_logger.handlers)
    for handler in own_handlers:
        datajoint_logger.removeHandler(handler)
    datajoint_logger.addHandler(collector)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        datajoint_logger.removeHandler(collector)
        for handler in own_handlers:
            datajoint_logger.addHandler(handler)
        lines = collector.lines + [
            redact_text(f"{w.category.__name__}: {w.message}")
            for w in caught
            if _worth_reporting(w, package)
        ]
        result.warnings.extend(_explain(line) for line in dict.fromkeys(lines))
