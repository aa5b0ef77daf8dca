"""The request limits of the GraphQL endpoint (spec §7): page sizes, depth, aliases, tokens, cost."""

from __future__ import annotations

# --- limits --------------------------------------------------------------------------------------

MAX_PAGE_SIZE = 100
"""`first` must lie in 1..MAX_PAGE_SIZE; it defaults to MAX_PAGE_SIZE."""
MAX_DEPTH = 15
"""Deepest field nesting allowed (introspection excluded): room for four nested `children` pages."""
MAX_ALIASES = 30
"""Most aliased fields in one document, counted through fragments."""
MAX_TOKENS = 1_500
"""Most lexical tokens in one document (fragments included); GraphiQL's introspection uses ~300."""
MAX_DOCUMENT_CHARS = 32 * 1024
"""Longest document (the query text) read; large values, such as an import's file, go in variables."""
MAX_COST = 100_000
"""Most field resolutions a query may ask for, estimated from its page sizes (see `estimated_cost`)."""
CACHE_SIZE = 512
"""Parsed and validated documents kept (least recently used first out)."""
