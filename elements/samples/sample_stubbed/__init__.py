"""sample-stubbed: stubs only where the Element itself imports.

``recording`` imports, at module level, a heavy package that is not installed
(``sample_vendor_sdk``), the way real Elements import cv2 or pyopenephys; with
``--stub-missing`` it is stubbed and the report names ``recording.py`` and the
line. It also uses ``sample_stubbed_dep``, a real dependency that, like
ruamel.yaml, tries an accelerated parser first and falls back when the import
fails; its accelerated loader subclasses the parser together with two classes
of its own, so a stub in place of the missing parser would break the import
with an MRO error. The Element's own optional import (in ``try``/``except
ImportError``) must fall back as well.
"""
