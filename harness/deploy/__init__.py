"""Deploy checked Elements onto a real database: plan, apply, verify.

A lab describes its pipeline (Elements in order, their schema names on the
target, where upstream tables come from) in a TOML file
(:mod:`harness.deploy.spec`). ``harness deploy`` then compares what the target
holds with what each Element release declares (its reviewed manifest), shows
the plan, and only when nothing has drifted activates the pipeline and
verifies the result. See ``docs/deploy.md``.
"""
