"""Element specs (elements/*.toml) and check targets."""
