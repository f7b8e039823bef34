"""What every benchmark script shares: the machine description, progress lines, JSON output.

The scripts are run as files (``python bench/x.py``), so this module is imported
by putting ``bench/`` on ``sys.path`` (see :func:`import_path`).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any


def say(text: str) -> None:
    """A progress line on stderr, so that stdout holds only the figures."""
    print(text, file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    mem_kb = 0
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    docker = subprocess.run(
        ["docker", "version", "--format", "{{.Server.Version}}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "docker": docker,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def write_json(report: dict[str, Any], path: str | None) -> None:
    """Write the report as indented JSON when a path was asked for."""
    if path:
        Path(path).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
