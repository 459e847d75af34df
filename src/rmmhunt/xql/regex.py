"""Check regular expressions with DuckDB's own engine (RE2) when a query is compiled.

Python's `re` accepts constructs that RE2 rejects (backreferences, lookarounds) and the other
way round, so only RE2 can tell whether DuckDB will accept a pattern. Checking at compile time
reports the query's line and column before any input is read.
"""

from __future__ import annotations

from functools import lru_cache

import duckdb

__all__ = ["re2_error"]


@lru_cache(maxsize=256)
def re2_error(pattern: str) -> str | None:
    """Return RE2's message for an invalid pattern, or None when DuckDB accepts it.

    The pattern runs against one empty string on a new in-memory connection that has no
    table and has external access turned off.
    """
    connection = duckdb.connect(":memory:", config={"enable_external_access": False})
    try:
        connection.execute("SELECT regexp_matches('', ?)", [pattern]).fetchall()
    except duckdb.Error as error:
        return str(error).splitlines()[0]
    finally:
        connection.close()
    return None
