"""broken-unsupported: must fail with class ``unsupported_datajoint`` on DataJoint 2.x.

``subject`` creates its deferred schema with ``dj.schema()`` (lowercase), as
most Elements released in 2023 do. DataJoint 2.x removed that alias
(``dj.Schema`` only), so importing the module raises ``AttributeError: module
'datajoint' has no attribute 'schema'``: the Element is written for an API
this DataJoint does not have. Under DataJoint 0.14, where ``dj.schema`` is an
alias of ``dj.Schema``, this sample activates and passes: that is expected.
"""
