"""``harness init``: add the harness to an Element's own repository.

Split by concern: :mod:`.discover` finds the packages that hold deferred
schemas, :mod:`.files` decides per file whether to create, keep or replace it,
:mod:`.pyproject` appends the ``[tool.harness]`` table without rewriting the
rest of the file, :mod:`.workflow` renders the GitHub workflow that calls the
harness's reusable one, and :mod:`.command` runs the check and puts it together.
"""
