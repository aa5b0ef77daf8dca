"""The pure domain: levels, records and the rules of spec §1–§2. No I/O here.

Imports the standard library only: nothing else of `graph_service`.
"""
