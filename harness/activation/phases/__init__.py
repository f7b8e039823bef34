"""The phases of one Element check, each a module of its own.

:class:`harness.activation.runner.ElementCheck` runs them in order:

``imports`` (read the sources, choose the modules, import a group fresh) →
``planning`` (what the linking module must provide; which ``activate`` calls) →
``mocking`` (the synthesized linking module) → ``activating`` (the calls, each with
a deadline) → ``reactivating`` (all again in fresh modules: the catalog must not
change) → ``cataloging`` (DataJoint's own view of what it declared) →
``verifying`` (the server's catalog against that view, the namespace and the
reviewed manifest) → the data round trip (:mod:`harness.roundtrip`) →
``teardown`` (the namespace and its user dropped).

A phase that fails raises :class:`~harness.activation.phases.base.PhaseFailed`
carrying its classified :class:`~harness.activation.failures.Failure` and the
check it fails; the orchestrator records it. Phases take the step timer from the
orchestrator, which owns it.
"""
