"""The service layer: the use cases (reads, writes, imports) with their access checks."""
