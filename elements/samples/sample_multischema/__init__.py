"""sample-multischema: one activate call that declares two schemas.

``recording.activate(recording_schema_name, device_schema_name=None, *, ...)``
activates the ``device`` module first, the way calcium-imaging's ``imaging``
activates ``scan`` and array-ephys activates ``probe``. The harness must see
that ``recording`` covers ``device`` and must not activate ``device`` again.
"""
