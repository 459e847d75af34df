"""Compile the comp stage: aggregate functions over groups of rows.

Aggregate meanings follow the Cortex XDR 3.x comp reference pages: `count()` counts rows,
`count(x)` counts non-NULL values, `values(x)` lists the distinct non-NULL values, and
`earliest(x)` / `latest(x)` take the value from the row with the smallest or largest `_time`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rmmhunt.xql.nodes import Aggregate, Column, CompStage
from rmmhunt.xql.relation import Relation, check_output_name, stage_error
from rmmhunt.xql.scope import INTEGER, LIST, NULL, NUMBER, TIMESTAMP, UNKNOWN, Scope

if TYPE_CHECKING:
    from rmmhunt.xql.planner import Planner

NUMERIC = (INTEGER, NUMBER, NULL, UNKNOWN)


def default_alias(aggregate: Aggregate) -> str:
    """Name an aggregate that has no `as`: `count`, or the function and column joined by `_`."""
    # NOTE: a project convention; the Cortex comp page does not say how unnamed results are named.
    return f"{aggregate.func}_{aggregate.arg.name}" if aggregate.arg else aggregate.func


def _aggregate_sql(planner: Planner, aggregate: Aggregate, scope: Scope) -> tuple[str, str]:
    if aggregate.arg is None:
        return "count(*)", INTEGER

    kind = scope.type_of(aggregate.arg)
    column = planner.quote(aggregate.arg.name)
    dialect = planner.dialect
    func = aggregate.func

    if func == "count":
        return f"count({column})", INTEGER
    if func == "count_distinct":
        return f"count(DISTINCT {column})", INTEGER
    if func in ("sum", "avg"):
        if kind not in NUMERIC:
            raise stage_error(
                aggregate.pos, f"{func}() needs a numeric column, not {kind}", f"aggregate {func!r}"
            )
        return f"{func}({column})", NUMBER if func == "avg" else kind
    if func in ("min", "max"):
        return f"{func}({column})", kind
    if func == "values":
        return dialect.distinct_values(column), LIST

    time = Column("_time", pos=aggregate.pos)
    if scope.columns.get("_time") != TIMESTAMP:
        raise stage_error(
            aggregate.pos,
            f"{func}() needs a _time column in scope",
            f"aggregate {func!r}",
            "keep _time in the fields stage before comp",
        )
    order_key = planner.quote(time.name)
    if func == "earliest":
        return dialect.value_at_min(column, order_key), kind
    return dialect.value_at_max(column, order_key), kind


def compile_comp(planner: Planner, stage: CompStage, relation: Relation) -> Relation:
    """Return one row per group, with the `by` columns first and then the aggregates."""
    source = relation.scope
    columns: dict[str, str] = {}
    selected: list[str] = []

    for column in stage.by:
        columns[column.name] = source.type_of(column)
        selected.append(planner.quote(column.name))

    for aggregate in stage.aggregates:
        name = aggregate.alias or default_alias(aggregate)
        check_output_name(name, aggregate.pos, "comp ... as")
        if name in columns:
            raise stage_error(
                aggregate.pos,
                f"column {name!r} is defined twice in the comp stage",
                f"column {name!r}",
                "give the aggregate another name with 'as'",
            )
        sql, kind = _aggregate_sql(planner, aggregate, source)
        columns[name] = kind
        selected.append(f"{sql} AS {planner.quote(name)}")

    sql = f"SELECT {', '.join(selected)} FROM {relation.cte}"
    if stage.by:
        sql += " GROUP BY " + ", ".join(planner.quote(column.name) for column in stage.by)
    return Relation(planner.add_cte(sql), Scope(columns, "the output of the comp stage"))
