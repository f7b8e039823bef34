"""broken-reference: must fail with class ``unresolved_reference``.

``session.Session`` references ``-> lab.Userr`` (a typo for ``lab.User``).
``lab`` is a module of this very package, imported by ``session``, so the
harness does not mock it (it mocks only names the Element does not define),
and ``lab`` has no ``Userr``: DataJoint cannot resolve the reference when it
declares ``Session``. The report must name the table and the reference.
"""
