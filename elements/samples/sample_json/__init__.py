"""sample-json: a table with json attributes, for the data round-trip check."""
