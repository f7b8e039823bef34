"""Species and subjects (unchanged since 1.1)."""

import datajoint as dj

schema = dj.Schema()


def activate(schema_name, create_schema=True, create_tables=True):
    """Declare the tables in ``schema_name``; nothing upstream is needed."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Species(dj.Lookup):
    definition = """
    species: varchar(32)
    ---
    species_description='': varchar(255)
    """
    contents = (("mouse", "Mus musculus"), ("rat", "Rattus norvegicus"))


@schema
class Subject(dj.Manual):
    definition = """
    subject: varchar(16)
    ---
    -> Species
    sex: enum('M', 'F', 'U')
    subject_birth_date: date
    subject_nickname=null: varchar(64)   # added in 1.1 (nullable: additive)
    """
