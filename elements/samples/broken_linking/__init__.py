"""broken-linking: must fail with class ``missing_linking_function``.

``activate`` looks its required linking function up with a name computed at
run time (``getattr(linking_module, "get_" + "raw_dir")``), which no static
analysis of the source can read. The mock linking module therefore lacks
``get_raw_dir`` and activation raises ``AttributeError: module ... has no
attribute 'get_raw_dir'``. The report must name the missing function; the fix
a user would make is ``[mock] functions = ["get_raw_dir"]`` in the spec.
"""
