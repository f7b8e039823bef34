"""Reference data: a Lookup with contents and a table of every attribute type."""

import datajoint as dj

from .types import (
    ATTACH,
    BIG,
    BIG_U,
    BLOB,
    BOOL,
    DOUBLE,
    FILEPATH_COLUMN,
    FLOAT,
    INT_U,
    SMALL_U,
    TINY,
)

schema = dj.Schema()


def activate(schema_name, *, create_schema=True, create_tables=True):
    """Declare the tables in ``schema_name``."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Species(dj.Lookup):
    definition = """
    species: varchar(24)
    ---
    common_name: varchar(64)
    """
    contents = [("mus musculus", "house mouse"), ("rattus norvegicus", "brown rat")]


@schema
class Specimen(dj.Manual):
    definition = f"""
    specimen_id: {INT_U}
    specimen_code: char(6)
    ---
    -> Species
    tiny: {TINY}
    small_unsigned: {SMALL_U}
    big: {BIG}
    big_unsigned: {BIG_U}
    price: decimal(8,3)
    ratio: {FLOAT}
    precise: {DOUBLE}
    flag: {BOOL}
    label: varchar(40)
    grade: enum('low', 'medium', 'high')
    born: date
    seen: datetime
    touched: timestamp
    image: {BLOB}
    remark=null: varchar(80)
    weight=null: {DOUBLE}
    extra=null: {BLOB}
    status="new": varchar(12)
    created=CURRENT_TIMESTAMP: timestamp
    """


@schema
class Tag(dj.Manual):
    definition = """
    -> Specimen
    tag: uuid
    ---
    issued=null: uuid
    """


@schema
class Document(dj.Manual):
    definition = f"""
    -> Specimen
    document_no: {SMALL_U}
    ---
    scan: {ATTACH}
    {FILEPATH_COLUMN}
    backup=null: {ATTACH}
    """
