"""broken-schema-drop: must fail with class ``namespace_violation``.

``activate`` declares its own schema, then drops ``harness_victim_schema``,
a schema it was never given (Elements have shipped "reset" helpers that do
this). The namespace's user has no privilege outside ``<prefix>_*``, so the
server refuses the ``DROP`` and the report names the schema; the victim stays.
"""
