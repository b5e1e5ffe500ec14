"""Bundled knowledge-base data (YAML), read through importlib.resources."""
