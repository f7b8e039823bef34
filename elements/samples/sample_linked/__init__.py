"""Sample: one module's upstream defined by another module of the same Element."""
