"""sample-hasattr: linking functions found only by reading the source (AST).

``activate`` asserts ``hasattr(linking_module, "get_raw_root_data_dir")``
(required); ``get_processed_root_data_dir`` is used only when present
(``hasattr``, optional); ``Recording.make`` reads
``_linking_module.get_session_directory(key)`` (required, but only at run time:
nothing fails at activation when it is missing, so only analysis finds it).
"""
