"""broken-declaration: must fail with class ``declaration_error``.

``scan.ScanInfo`` has an attribute line without the ``name: type`` colon
(``bad attribute line without colon``), the kind of typo DataJoint reports only
when it declares the table. ``Scan`` (declared before it) is fine, so the
failure is in the middle of an activation. The report must name the table
(``ScanInfo``) and the offending definition line.
"""
