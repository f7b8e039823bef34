"""sample-port: an Element written for DataJoint 0.14, to be ported to 2.x.

``acquisition`` uses every construct with a mechanical replacement (``dj.schema``,
``dj.ERD``, ``dj.create_virtual_module``, ``boolean``, bare ``attach``, bare
``blob``/``longblob``, a double-quoted enum, ``tinyint``/``double``,
``drop(force=True)``, ``fetch`` forms, ``spawn_missing_classes``, an obsolete
config key). ``export`` uses those a person must rewrite (``dj.config["custom"]``,
``"custom" in dj.config``, a Computed table with a key of its own, ``unsigned``,
``dj.kill``, ``fetch(download_path=...)``, ``size_on_disk``). The tests rely on
the line of each construct: change them together.
"""
