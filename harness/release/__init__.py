"""``harness release-check``: what a new release of an Element changes in its schema.

Two releases (published versions, source trees, git refs) are each checked on a
real server in an interpreter that can import only that release, their
manifests are diffed, and every change is classified as breaking or additive.

- :mod:`~harness.release.sides`: what the user named, made into a directory to import from
- :mod:`~harness.release.target`: which parts of the spec apply to which release
- :mod:`~harness.release.check` and :mod:`~harness.release.child`: one side's check, isolated
- :mod:`~harness.release.classify`: breaking or additive
- :mod:`~harness.release.render`: the Markdown section and the JSON record
- :mod:`~harness.release.commands`: the command line
"""

from harness.release.commands import add_release_parser, run_release

__all__ = ["add_release_parser", "run_release"]
