"""``harness matrix``: Elements x DataJoint versions x database servers, from one definition.

One isolated environment per DataJoint version (:mod:`.envs`), the combinations
to run (:mod:`.plan`), results cached by a key of their inputs (:mod:`.cache`),
``harness check`` in each combination as a subprocess (:mod:`.runner`), the
aggregated table (:mod:`.table`, :mod:`.render`), the lock file (:mod:`.lock`)
and the command line (:mod:`.commands`). The GitHub workflow gets its matrix
from :func:`.plan.github_matrix`, so the local run and CI cannot disagree.
"""
