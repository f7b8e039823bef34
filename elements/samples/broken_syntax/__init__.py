"""broken-syntax: must fail with class ``import_error``.

``subject`` is fine; ``session`` has a Python syntax error (an unclosed
parenthesis in a table's ``definition`` assignment), as a half-finished edit
would leave it. Importing ``session`` raises ``SyntaxError``, which the
harness reports as an import error naming the file and line. This directory's
``ruff.toml`` excludes ``session.py`` from linting for that reason.
"""
