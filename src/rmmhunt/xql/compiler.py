"""Compile an XQL query to one SQL statement on the xdr_data table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from rmmhunt.xql.dialect import DIALECTS
from rmmhunt.xql.errors import XqlError
from rmmhunt.xql.nodes import Query
from rmmhunt.xql.parser import parse
from rmmhunt.xql.planner import Planner
from rmmhunt.xql.relation import Settings


@dataclass
class CompiledQuery:
    """The SQL for a query and what the caller needs to read its result.

    Attributes:
        sql: one SELECT statement.
        fields: the output columns in order when a fields or comp stage fixes them, else None
            (every dataset column, then any alter columns).
        columns: the output columns in order, always.
        warnings: semantics the caller should know about, such as an arbitrary dedup choice.
        timeframe: the (start, end) UTC instants of the top-level `config timeframe`, if any.
    """

    sql: str
    fields: list[str] | None
    columns: list[str]
    warnings: list[str] = field(default_factory=list)
    timeframe: tuple[datetime, datetime] | None = None


def compile_query(
    query: Query | str,
    *,
    now: datetime | None = None,
    table: str = "xdr_data",
    dialect: str = "duckdb",
    order_column: str | None = None,
) -> CompiledQuery:
    """Compile XQL (text or a parsed Query) to SQL over `table`.

    Args:
        query: the XQL text or its syntax tree.
        now: the instant relative time frames count back from; the current time by default.
        table: the table that holds the xdr_data dataset.
        dialect: the SQL dialect; only "duckdb" exists so far.
        order_column: a column that gives the table's natural row order, so that sorts break
            ties in that order. Without one, ties come back in an arbitrary order.

    Raises:
        XqlError: the query is malformed, names an unknown column, or is outside the subset.
    """
    sql_dialect = DIALECTS.get(dialect)
    if sql_dialect is None:
        raise XqlError(
            f"unknown SQL dialect {dialect!r}",
            line=0,
            column=0,
            construct=f"dialect {dialect!r}",
            hint="supported: " + ", ".join(DIALECTS),
        )
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be timezone-aware")

    tree = parse(query) if isinstance(query, str) else query
    planner = Planner(sql_dialect, table, (now or datetime.now(UTC)).astimezone(UTC), order_column)
    relation, settings, projected = planner.plan(tree, Settings())

    columns = relation.scope.names()
    return CompiledQuery(
        sql=planner.final_select(relation),
        fields=list(columns) if projected else None,
        columns=columns,
        warnings=planner.warnings,
        timeframe=settings.timeframe,
    )
