"""Scenarios as data: read from YAML, checked line by line, every problem reported at once."""
