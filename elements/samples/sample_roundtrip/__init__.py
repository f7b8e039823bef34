"""sample-roundtrip: tables that hold every kind of value, for the data round-trip check.

``reference`` declares a Lookup with contents and a table with one attribute of
every type DataJoint offers on the installed version (core types and codecs under
2.x, MySQL types under 0.14), including an attachment and a file path in the
store ``rtstore``. ``assay`` references ``reference`` across schemas, the mocked
upstream ``Subject`` directly and renamed, ``Device`` through a nullable
reference, and has Part tables.
"""
