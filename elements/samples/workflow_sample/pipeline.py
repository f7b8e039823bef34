"""A lab's pipeline, written the way DataJoint's ``workflow-*`` repositories write theirs.

The Elements (here the sample ones) are activated in order when this module is
imported; every schema is named ``db_prefix + "<name>"``, the prefix read from
``dj.config["custom"]["database.prefix"]`` (a lab sets it in its
``dj_local_conf.json``); the linking module of ``assay`` is this module itself,
built by hand; and the lab adds a table of its own (``Session``).

DataJoint 2 refuses unknown settings keys, so there the workflows'
``DATABASE_PREFIX`` environment variable names the prefix instead.
"""

import os

import datajoint as dj
from sample_clean import lab
from sample_linked import assay, rig

try:
    db_prefix = dj.config["custom"].get("database.prefix", "")
except KeyError:  # DataJoint 2: no dj.config["custom"]
    db_prefix = os.environ.get("DATABASE_PREFIX", "")

# -- Elements, in order -------------------------------------------------------------

lab.activate(db_prefix + "lab")
rig.activate(db_prefix + "rig")

# -- the lab's own table --------------------------------------------------------------

schema = dj.Schema(db_prefix + "session")


@schema
class Session(dj.Manual):
    definition = """
    -> lab.Lab
    session_id: int
    ---
    session_date: date
    """


# -- the linking module of assay: names its definitions use ----------------------------

Lab = lab.Lab
Rig = rig.Rig

assay.activate(db_prefix + "assay", linking_module=__name__)
