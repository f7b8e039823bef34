"""Declared types of this sample, spelt the way the installed DataJoint wants them.

DataJoint 2.x has core types (``int32``, ``bool``) and codecs (``<blob>``,
``<attach@store>``); 0.14 has MySQL types and ``attach@store``. The sample means
the same columns on both lines.
"""

import datajoint as dj

DJ2 = int(dj.__version__.split(".")[0]) >= 2

if DJ2:
    # 2.x core types have no unsigned integers (native ones would not exist on PostgreSQL).
    TINY, SMALL_U, INT, INT_U, BIG, BIG_U = "int8", "int16", "int32", "int32", "int64", "int64"
    FLOAT, DOUBLE, BOOL = "float32", "float64", "bool"
    BLOB, ATTACH = "<blob>", "<attach@rtstore>"
    FILEPATH_COLUMN = "raw_file: <filepath@rtstore>"
else:
    TINY, SMALL_U, INT, INT_U = "tinyint", "smallint unsigned", "int", "int unsigned"
    BIG, BIG_U = "bigint", "bigint unsigned"
    FLOAT, DOUBLE, BOOL = "float", "double", "tinyint"
    BLOB, ATTACH = "longblob", "attach@rtstore"
    # 0.14 refuses filepath unless DJ_SUPPORT_FILEPATH_MANAGEMENT is set: not declared there.
    FILEPATH_COLUMN = ""
