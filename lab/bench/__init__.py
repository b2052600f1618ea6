"""Benchmarks behind ``eldercare bench …``: each prints a table, and with ``--json`` one JSON line last."""
