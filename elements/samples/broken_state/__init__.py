"""broken-state: must fail with class ``global_state``.

``activate`` changes the working directory and a ``dj.config`` value and leaves
them so: in a shared process the next Element (and the report paths) would see
them. The tables themselves are fine.
"""
