"""broken-import: must fail with class ``import_error``.

``acquisition`` imports, at module level, a package that does not exist
(``element_nonexistent_pkg``), the way real Elements import cv2, suite2p or
pyopenephys at the top of a module. The spec does not list it in
``check.stubs``, so the module cannot be imported and nothing is activated;
the report must name the module and the missing package. (With
``--stub-missing`` the harness would stub it and the check would pass: that is
the purpose of the option, and why the spec leaves it out.)
"""
