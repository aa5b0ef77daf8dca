"""Helpers the tests import by name (not fixtures: those live in the conftest.py files)."""
