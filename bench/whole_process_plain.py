"""The baseline of bench/whole_process.py: the activation script a lab writes by hand.

The same modules ``harness check element-lab element-animal element-session
element-event`` activates, with element-lab as the real upstream of the others, in
fresh schemas named ``<prefix>_<module>``, then every schema dropped. Run as a
process of its own (``python bench/whole_process_plain.py``); the connection comes
from the environment (``PLAIN_DB_HOST``, ``PLAIN_DB_PORT``, ``PLAIN_DB_USER``,
``PLAIN_DB_PASSWORD``; ``PLAIN_PREFIX``, ``PLAIN_DATA_ROOT``), so no password is on
a command line. The last line of stdout is a JSON object of the phases' seconds, for
the benchmark's breakdown (the interpreter's start, before the first line here, is
what the benchmark's wall time has beyond ``total_s``).
"""

import time

STARTED = time.perf_counter()

import json  # noqa: E402  (the clock starts before any import)
import os  # noqa: E402
import types  # noqa: E402

mark = time.perf_counter()
import datajoint as dj  # noqa: E402

timings = {"import_datajoint_s": time.perf_counter() - mark}

mark = time.perf_counter()
dj.config["database.host"] = os.environ["PLAIN_DB_HOST"]
dj.config["database.port"] = int(os.environ["PLAIN_DB_PORT"])
dj.config["database.user"] = os.environ["PLAIN_DB_USER"]
dj.config["database.password"] = os.environ["PLAIN_DB_PASSWORD"]
dj.config["database.use_tls"] = False
dj.config["safemode"] = False
connection = dj.conn()
timings["connect_s"] = time.perf_counter() - mark

mark = time.perf_counter()
from element_animal import genotyping, subject, surgery  # noqa: E402
from element_event import trial  # noqa: E402
from element_lab import lab, project  # noqa: E402
from element_session import session_with_datetime, session_with_id  # noqa: E402

timings["import_elements_s"] = time.perf_counter() - mark

prefix = os.environ["PLAIN_PREFIX"]
data_root = os.environ["PLAIN_DATA_ROOT"]
STEMS = (
    "lab",
    "project",
    "subject",
    "genotyping",
    "surgery",
    "session_dt",
    "session_id",
    "event",
    "trial",
)
names = {stem: f"{prefix}_{stem}" for stem in STEMS}

mark = time.perf_counter()
lab.activate(names["lab"])
linking = types.ModuleType("plain_linking")
linking.Source = lab.Source
linking.Lab = lab.Lab
linking.Protocol = lab.Protocol
linking.User = lab.User
linking.Project = lab.Project
linking.Experimenter = lab.User
project.activate(names["project"], linking_module=linking)
genotyping.activate(names["genotyping"], names["subject"], linking_module=linking)
surgery.activate(names["surgery"], names["subject"], linking_module=linking)
linking.Subject = subject.Subject
session_with_datetime.activate(names["session_dt"], linking_module=linking)
session_with_id.activate(names["session_id"], linking_module=linking)
linking.Session = session_with_datetime.Session
linking.get_experiment_root_data_dir = lambda: [data_root]
linking.get_session_directory = lambda session_key: data_root
trial.activate(names["trial"], names["event"], linking_module=linking)
timings["activate_s"] = time.perf_counter() - mark

mark = time.perf_counter()
connection.query("SET SESSION foreign_key_checks = 0")
for name in names.values():
    connection.query(f"DROP DATABASE IF EXISTS `{name}`")
connection.query("SET SESSION foreign_key_checks = 1")
timings["drop_s"] = time.perf_counter() - mark

timings["total_s"] = time.perf_counter() - STARTED
print(json.dumps(timings))
