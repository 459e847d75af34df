"""Render the built-in hunt as SQL over an `xdr_data`-shaped table, in sqlglot dialects.

The hunt's XQL is compiled to DuckDB SQL by `rmmhunt.xql`, and sqlglot transpiles that statement
to the other dialects, raising on any construct that a dialect cannot express.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlglot
from sqlglot.errors import ErrorLevel, SqlglotError

from rmmhunt.export.result import ExportError
from rmmhunt.xql import compile_query

__all__ = ["SQL_DIALECTS", "render_sql"]

SQL_DIALECTS = ("duckdb", "spark", "snowflake", "bigquery", "trino", "clickhouse")

# The rendered hunt has no relative time frame, so the instant it is compiled at does not matter;
# a fixed one keeps the export reproducible.
_COMPILE_NOW = datetime(2026, 1, 1, tzinfo=UTC)


def render_sql(xql: str, dialect: str, table: str = "xdr_data") -> tuple[str, list[str]]:
    """Compile a hunt's XQL to one SQL statement in a sqlglot dialect.

    Args:
        xql: the hunt's query text.
        dialect: one of `SQL_DIALECTS`.
        table: the name of the table with the `xdr_data` columns.

    Returns:
        The statement, pretty-printed and ending with `;`, and the compiler's warnings.

    Raises:
        ExportError: the dialect is unknown, or sqlglot cannot write the statement in it.
        XqlError: the query does not compile.
    """
    if dialect not in SQL_DIALECTS:
        raise ExportError(
            f"unknown SQL dialect {dialect!r}", hint=f"choose from {', '.join(SQL_DIALECTS)}"
        )
    compiled = compile_query(xql, now=_COMPILE_NOW, table=table, dialect="duckdb")

    # NOTE: only the DuckDB statement is run by the tests; the other dialects are checked by
    # parsing them back with sqlglot, not on their engines.
    try:
        statement = sqlglot.transpile(
            compiled.sql,
            read="duckdb",
            write=dialect,
            pretty=True,
            unsupported_level=ErrorLevel.RAISE,
        )[0]
    except SqlglotError as error:
        raise ExportError(
            f"sqlglot cannot write the hunt in the {dialect} dialect: {error}",
            hint="export --to sql --dialect duckdb and adapt the statement by hand",
        ) from error
    return statement + ";\n", list(compiled.warnings)
