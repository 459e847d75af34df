"""Run a compiled XQL query on a DuckDB connection and return plain Python rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from rmmhunt.dataset import restrict_connection
from rmmhunt.errors import QueryError
from rmmhunt.xql.compiler import CompiledQuery, compile_query
from rmmhunt.xql.dialect import DIALECTS
from rmmhunt.xql.nodes import Query
from rmmhunt.xql.timeframe import BEGINNING


@dataclass
class XqlResult:
    """The rows of an XQL query.

    Attributes:
        columns: the output columns in order.
        rows: one dict per row, keyed by column; `_time` and other instants are aware UTC.
        warnings: compile-time warnings, plus a warning when the time frame excludes every event.
        sql: the SQL that ran.
    """

    columns: list[str]
    rows: list[dict[str, object]]
    warnings: list[str] = field(default_factory=list)
    sql: str = ""


def _to_utc(value: object) -> object:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


def _timeframe_warning(
    compiled: CompiledQuery, connection: duckdb.DuckDBPyConnection, table: str
) -> str | None:
    """Return a warning when the table has events but none inside the time frame."""
    if compiled.timeframe is None:
        return None
    dialect = DIALECTS["duckdb"]
    start, end = compiled.timeframe
    time = dialect.quote("_time")
    inside = f"{time} <= {dialect.timestamp(end)}"
    if start != BEGINNING:
        inside = f"{time} >= {dialect.timestamp(start)} AND {inside}"
    sql = (
        f"SELECT count({time}), count({time}) FILTER (WHERE {inside}), min({time}), max({time}) "
        f"FROM {dialect.quote(table)}"
    )
    row = connection.execute(sql).fetchone()
    if row is None or row[0] == 0 or row[1] > 0:
        return None

    earliest, latest = (_to_utc(value) for value in row[2:])
    shown_start = "the beginning" if start == BEGINNING else start.isoformat()
    return (
        f"the time frame {shown_start} to {end.isoformat()} excludes every event in {table} "
        f"({row[0]} events with a time, from {earliest} to {latest}); "
        "widen 'config timeframe' or pass an earlier 'now'"
    )


NATURAL_ORDER_COLUMN = "_row"
"""The dataset's row number, in its canonical order; sorts break ties on it."""


def _has_column(connection: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    try:
        described = connection.execute(f'DESCRIBE "{table}"').fetchall()
    except duckdb.Error:
        return False
    return any(row[0] == column for row in described)


# Parts of DuckDB run-time messages, and the XQL constructs that lead to them.
_RUNTIME_CONSTRUCTS = (
    ("JSON", "a json_extract function reads text that is not JSON"),
    ("Conversion Error", "a comparison or function converts text that is not a number or time"),
    ("Could not convert", "a comparison or function converts text that is not a number or time"),
    ("regular expression", "a regular expression on a column value"),
    ("Out of Range", "arithmetic or a conversion overflows"),
)


def _runtime_hint(error: duckdb.Error, table: str) -> str:
    """Name the likely XQL construct of a DuckDB error that only showed when the query ran."""
    text = str(error)
    if isinstance(error, duckdb.CatalogException) and table in text:
        return f"check that table {table!r} exists and has the xdr_data columns"
    for marker, construct in _RUNTIME_CONSTRUCTS:
        if marker.casefold() in text.casefold():
            return f"the query compiled, but at run time {construct}; check that part of it"
    return "the query compiled, but DuckDB rejected it at run time; check its functions and values"


def run(
    query: Query | str,
    connection: duckdb.DuckDBPyConnection,
    *,
    now: datetime | None = None,
    table: str = "xdr_data",
) -> XqlResult:
    """Compile an XQL query and run it on `table` in a DuckDB connection.

    The connection is restricted first (`rmmhunt.dataset.restrict_connection`), so that it can
    reach no file or network from then on.

    Raises:
        XqlError: the query does not compile.
        QueryError: DuckDB rejected the compiled SQL, for example a missing table.
    """
    order_column = (
        NATURAL_ORDER_COLUMN if _has_column(connection, table, NATURAL_ORDER_COLUMN) else None
    )
    compiled = compile_query(
        query, now=now, table=table, dialect="duckdb", order_column=order_column
    )
    restrict_connection(connection)
    try:
        cursor = connection.execute(compiled.sql)
        records = cursor.fetchall()
        warning = _timeframe_warning(compiled, connection, table)
    except duckdb.Error as error:
        raise QueryError(
            f"DuckDB failed to run the compiled query: {error}",
            hint=_runtime_hint(error, table),
        ) from error

    rows = [
        {name: _to_utc(value) for name, value in zip(compiled.columns, record, strict=True)}
        for record in records
    ]
    warnings = list(compiled.warnings)
    if warning:
        warnings.append(warning)
    return XqlResult(compiled.columns, rows, warnings, compiled.sql)
