"""The Element repository's GitHub workflow: a caller of the harness's reusable one.

The reusable workflow (``.github/workflows/element-check.yml`` of element-harness,
see docs/matrix.md) plans the DataJoint x server matrix, checks each combination
and aggregates one table; the caller only says what to check. ``elements: "."``
is the repository itself, checked with its ``[tool.harness]`` settings (so with
its own manifests), exactly what plain ``pytest`` checks locally.
"""

from __future__ import annotations

import json

#: Where the reusable workflow is published, and the ref callers use by default.
WORKFLOW_REPOSITORY = "datajoint/element-harness"
WORKFLOW_PATH = ".github/workflows/element-check.yml"
DEFAULT_REF = "main"
#: The caller's path in the Element's repository.
CALLER_PATH = ".github/workflows/element-check.yml"


def workflow_reference(ref: str | None) -> str:
    """The ``uses:`` value: ``--workflow-ref`` as a ref (``v0.1.0``, a commit) or whole.

    A whole reference (``owner/repo/.github/workflows/x.yml@ref``) is used as given, so
    a fork or a mirror of the harness can be called too.
    """
    ref = ref or DEFAULT_REF
    if "@" in ref and "/.github/workflows/" in ref:
        return ref
    return f"{WORKFLOW_REPOSITORY}/{WORKFLOW_PATH}@{ref}"


def caller_workflow(elements: str, uses: str) -> str:
    """The workflow text; ``elements`` is the reusable workflow's ``elements`` input."""
    return f"""# Written by `harness init` (element-harness): check this Element on every pull
# request, across DataJoint versions and database servers, with element-harness's
# reusable workflow. The Elements, server and reviewed manifests come from
# [tool.harness] in pyproject.toml, as for a plain `pytest` run.
# Inputs (datajoint-versions, servers, python-versions, harness): see docs/matrix.md
# of element-harness.
name: Element check

on:
  pull_request:
  push:
    branches: [main]
  workflow_dispatch:

permissions:
  contents: read

jobs:
  harness:
    uses: {uses}
    with:
      elements: {json.dumps(elements)}
"""
