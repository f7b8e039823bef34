"""broken-roundtrip: tables that declare fine and still lose data under DataJoint 2.x."""
