"""Lab, members and equipment: a schema that references nothing outside itself.

Covers the table tiers and reference forms a clean Element uses: a Lookup with
contents, Manual tables, a Part table (``-> master``), a nullable secondary
foreign key and a secondary foreign key between two of its own tables.
"""

import datajoint as dj

# Deferred: no name, no connection until activate() is called.
schema = dj.Schema()


def activate(schema_name, create_schema=True, create_tables=True):
    """Declare the tables in ``schema_name``.

    Like element-lab's ``lab.activate``, it takes no linking module: nothing
    upstream is needed.
    """
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class Organization(dj.Lookup):
    definition = """
    organization: varchar(24)     # short name
    ---
    org_name: varchar(255)        # full name
    """
    contents = (("sample", "Sample Institute"), ("other", "Other University"))


@schema
class Lab(dj.Manual):
    definition = """
    lab: varchar(24)
    ---
    lab_name: varchar(255)
    -> Organization               # secondary foreign key to a table of this module
    """

    class Room(dj.Part):
        definition = """
        -> master
        room: varchar(16)
        ---
        floor=0: int
        """


@schema
class Role(dj.Lookup):
    definition = """
    role: varchar(16)
    """
    contents = (("pi",), ("postdoc",), ("student",), ("technician",))


@schema
class Member(dj.Manual):
    definition = """
    member: varchar(32)           # user name
    ---
    full_name: varchar(255)
    -> [nullable] Role
    """


@schema
class LabMembership(dj.Manual):
    definition = """
    -> Lab
    -> Member
    ---
    since=null: date
    """


@schema
class Equipment(dj.Manual):
    definition = """
    equipment: varchar(32)
    ---
    -> Lab
    description='': varchar(1024)
    """
