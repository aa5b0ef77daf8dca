"""The pure domain (spec §1–§3, §6, §9): division and station levels and records, the one ordered list
of a station's fields (`station_fields`: the CSV header, the stores' columns and the GraphQL input
derive from it), the validation rules and CSV reading of spec §2 and §7 (`validation` parses station
rows and re-exports the rules kept in `problems`, `values`, `csv_input`, `division_rules` and
`station_rules`; one date parser, `validation.parse_date`, for every path), series of days, the yearly
editions of the division table (plans, successors, moves, validity) and the audit trail's entries.
No I/O: functions take and return values.

May import: the standard library only; nothing else of `graph_service`. Everything else may import it.
"""
