"""The shipped alert strategies (TOML data files)."""
