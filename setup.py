"""Build hook: ship the repository's data directories inside the ``harness`` package.

Element specs, reviewed manifests, pipeline specs and the image recipes live at the
repository's top level (``elements/``, ``compose/images/``), where maintainers edit
and review them. A wheel only carries packages, so the build copies them into
``harness/_data/``, where :mod:`harness.resources` finds them after installation.
The sample Elements under ``elements/samples/`` are test fixtures and stay out.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: Source directory -> where it goes under the package, and what to leave out.
SHIPPED = {"elements": ("samples",), "compose/images": ()}


class BuildWithData(build_py):
    """``build_py`` that also copies :data:`SHIPPED` into ``harness/_data``."""

    def run(self) -> None:
        super().run()
        target_root = Path(self.build_lib) / "harness" / "_data"
        for relative, excluded in SHIPPED.items():
            source = ROOT / relative
            if not source.is_dir():  # building from an sdist that lacks them is an error
                raise SystemExit(f"setup.py: {source} is missing; cannot build the harness")
            target = target_root / relative
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(
                source,
                target,
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", *excluded),
            )


setup(cmdclass={"build_py": BuildWithData})
