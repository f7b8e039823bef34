"""A lab's own pipeline module as a target of ``harness check`` and ``harness deploy``.

DataJoint's workflow repositories run a lab's pipeline from one module
(``workflow_<name>/pipeline.py``) that imports the Elements, activates them in
order at import under ``db_prefix + "<name>"`` (the prefix from
``dj.config["custom"]["database.prefix"]``) and builds the linking module by
hand. Nothing there is synthesized or mocked: the harness sets the prefix
(:func:`harness.activation.compat.workflow_prefix`) and imports the module.
``module.py`` imports it, ``check.py`` checks it in a namespace, ``deploy.py``
plans and applies it on a target. See ``docs/deploy.md``.
"""
