"""broken-namespace: must fail with class ``namespace_violation``.

``activate`` declares its own schema under the name it is given, and then also
activates an audit schema under a fixed name, ``harness_outside_schema_x``,
outside any prefix (real Elements have done this with report or "common"
schemas). The namespace's database user may only create schemas named
``<prefix>_*``, so the server refuses ``CREATE DATABASE`` and the report must
name the schema that was tried.
"""
