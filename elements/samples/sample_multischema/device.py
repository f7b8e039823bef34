"""Recording devices: activated by ``recording.activate``, needs no linking module."""

import datajoint as dj

schema = dj.Schema()


def activate(schema_name, *, create_schema=True, create_tables=True):
    """Declare the device tables in ``schema_name``."""
    schema.activate(schema_name, create_schema=create_schema, create_tables=create_tables)


@schema
class DeviceType(dj.Lookup):
    definition = """
    device_type: varchar(32)
    """
    contents = (("probe",), ("camera",))


@schema
class Device(dj.Manual):
    definition = """
    device: varchar(32)
    ---
    -> DeviceType
    serial='': varchar(64)
    """
