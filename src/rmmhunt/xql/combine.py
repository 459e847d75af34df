"""Compile join and union, which combine the current rows with a subquery's rows.

Semantics follow the Cortex XSIAM join and union reference pages. For a join, a column that
both sides define comes from the subquery (`conflict_strategy = right`, the default) or from
the current rows (`left`). A union keeps every row of both sides (SQL UNION ALL); a column
that only one side has is NULL in the other side's rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rmmhunt.xql.functions import ExpressionCompiler
from rmmhunt.xql.nodes import DatasetStage, JoinStage, Query, UnionStage
from rmmhunt.xql.relation import Relation, Settings, stage_error
from rmmhunt.xql.scope import BOOLEAN, NULL, UNKNOWN, Scope

if TYPE_CHECKING:
    from rmmhunt.xql.planner import Planner

LEFT = "xql_left"
RIGHT = "xql_right"
JOIN_KEYWORDS = {"inner": "INNER JOIN", "left": "LEFT JOIN", "right": "RIGHT JOIN"}


def compile_join(
    planner: Planner, stage: JoinStage, relation: Relation, settings: Settings
) -> Relation:
    """Join the current rows with the subquery's rows on the join condition."""
    inner, _, _ = planner.plan(stage.subquery, settings)
    left_prefix = planner.quote(LEFT) + "."
    right_prefix = planner.quote(RIGHT) + "."

    compiler = ExpressionCompiler(
        planner.dialect,
        {None: (left_prefix, relation.scope), stage.alias: (right_prefix, inner.scope)},
        settings.case_sensitive,
        planner.now,
    )
    condition = compiler.compile(stage.condition)
    if condition.type not in (BOOLEAN, NULL, UNKNOWN):
        raise stage_error(stage.pos, "the join condition must be true/false", "join condition")

    columns: dict[str, str] = {}
    selected: list[str] = []
    take_right = stage.conflict_strategy == "right"
    for name, kind in relation.scope.columns.items():
        if take_right and name in inner.scope.columns:
            continue
        columns[name] = kind
        selected.append(left_prefix + planner.quote(name))
    for name, kind in inner.scope.columns.items():
        if name in columns:
            continue
        columns[name] = kind
        selected.append(right_prefix + planner.quote(name))

    sql = (
        f"SELECT {', '.join(selected)} FROM {relation.cte} AS {planner.quote(LEFT)} "
        f"{JOIN_KEYWORDS[stage.join_type]} {inner.cte} AS {planner.quote(RIGHT)} "
        f"ON {condition.sql}"
    )
    return Relation(planner.add_cte(sql), Scope(columns, "the output of the join stage"))


def compile_union(
    planner: Planner, stage: UnionStage, relation: Relation, settings: Settings
) -> Relation:
    """Append the rows of a dataset or subquery to the current rows."""
    subquery = stage.subquery or Query((DatasetStage(stage.dataset or "", pos=stage.pos),))
    other, _, _ = planner.plan(subquery, settings)

    columns = dict(relation.scope.columns)
    for name, kind in other.scope.columns.items():
        columns.setdefault(name, kind)

    def side(scope: Scope) -> str:
        return ", ".join(
            planner.quote(name) if name in scope.columns else f"NULL AS {planner.quote(name)}"
            for name in columns
        )

    sql = (
        f"SELECT {side(relation.scope)} FROM {relation.cte} "
        f"UNION ALL SELECT {side(other.scope)} FROM {other.cte}"
    )
    return Relation(planner.add_cte(sql), Scope(columns, "the output of the union stage"))
