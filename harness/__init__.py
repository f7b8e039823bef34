"""element-harness: check DataJoint Elements against real database servers.

The public entry points are the ``harness`` command (:mod:`harness.cli`), the
pytest plugin (:mod:`harness.pytest_plugin`, loaded automatically once the
package is installed) and the plain classes they are thin layers over
(:func:`harness.db.provider.provide_server`, :class:`harness.db.server.ServerInfo`).
"""

__version__ = "0.1.0"
