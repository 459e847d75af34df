"""Run Cortex XQL hunts offline: parse XQL, plan it and compile it to SQL on `xdr_data`.

>>> from rmmhunt.xql import compile_query
>>> compile_query("dataset = xdr_data | limit 1").columns[:2]
['_time', '_product']
"""

from __future__ import annotations

from rmmhunt.xql.compiler import CompiledQuery, compile_query
from rmmhunt.xql.errors import XqlError
from rmmhunt.xql.markdown import extract_xql_block, find_xql_block
from rmmhunt.xql.nodes import Query
from rmmhunt.xql.parser import parse
from rmmhunt.xql.runner import XqlResult, run
from rmmhunt.xql.source import QuerySource, read_query_file

__all__ = [
    "CompiledQuery",
    "Query",
    "QuerySource",
    "XqlError",
    "XqlResult",
    "compile_query",
    "extract_xql_block",
    "find_xql_block",
    "parse",
    "read_query_file",
    "run",
]
