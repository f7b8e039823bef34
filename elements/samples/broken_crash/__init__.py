"""broken-crash: must fail with class ``crash``.

``activate`` reads memory at address 0 through ``ctypes``: a segmentation fault,
as a broken native extension would cause. Only the check's process dies.
"""
