"""sample-port: an Element written for DataJoint 0.14, to be ported to 2.x.

``acquisition`` uses every construct with a mechanical replacement (``dj.schema``,
``dj.ERD``, ``dj.create_virtual_module``, ``boolean``, bare ``attach``, bare
``blob``/``longblob``, ``drop(force=True)``, ``fetch`` forms, an obsolete config
key). ``export`` uses those a person must rewrite (``dj.config["custom"]``, a
Computed table with a key of its own, ``dj.kill``, ``fetch(download_path=...)``).
The tests rely on the line of each construct: change them together.
"""
