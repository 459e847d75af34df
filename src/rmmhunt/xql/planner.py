"""Plan a parsed query as a chain of SQL common table expressions, one per stage.

Each stage reads the previous CTE and defines the next, with an explicit column list, so
that the SQL is the same shape in every dialect. SQL keeps no row order between CTEs, so a
sort stage numbers its rows in a hidden column. Later row-preserving stages carry that
column, and the final SELECT orders by it and drops it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from rmmhunt.xql.aggregates import compile_comp
from rmmhunt.xql.combine import compile_join, compile_union
from rmmhunt.xql.dialect import Dialect
from rmmhunt.xql.functions import ExpressionCompiler
from rmmhunt.xql.nodes import (
    AlterStage,
    CompStage,
    ConfigCaseSensitive,
    ConfigTimeframe,
    DatasetStage,
    DedupStage,
    FieldsStage,
    FilterStage,
    JoinStage,
    LimitStage,
    Position,
    Query,
    ReplaceNullStage,
    SortKey,
    SortStage,
    Stage,
    UnionStage,
)
from rmmhunt.xql.projection import compile_fields
from rmmhunt.xql.relation import (
    DEFAULT_DATASET,
    ORDER_COLUMN,
    RANK_COLUMN,
    Relation,
    Settings,
    check_output_name,
    stage_error,
)
from rmmhunt.xql.scope import BOOLEAN, NULL, STRING, UNKNOWN, Scope, dataset_columns
from rmmhunt.xql.timeframe import BEGINNING, resolve_timeframe


class Planner:
    """Collect the CTEs of a query and of its subqueries, which share one namespace."""

    def __init__(
        self, dialect: Dialect, table: str, now: datetime, order_column: str | None = None
    ) -> None:
        self.dialect = dialect
        self.table = table
        self.now = now
        self.order_column = order_column
        self.ctes: list[tuple[str, str]] = []
        self.warnings: list[str] = []

    def add_cte(self, sql: str) -> str:
        name = f"stage_{len(self.ctes) + 1}"
        self.ctes.append((name, sql))
        return name

    def quote(self, name: str) -> str:
        return self.dialect.quote(name)

    def column_list(self, relation: Relation, names: list[str] | None = None) -> str:
        """List the given (or all) columns of a relation, plus its hidden order column."""
        columns = [self.quote(name) for name in (names or relation.scope.names())]
        if relation.ordered:
            columns.append(self.quote(ORDER_COLUMN))
        return ", ".join(columns)

    def expressions(self, relation: Relation, settings: Settings) -> ExpressionCompiler:
        return ExpressionCompiler(
            self.dialect, {None: ("", relation.scope)}, settings.case_sensitive, self.now
        )

    def plan(self, query: Query, inherited: Settings) -> tuple[Relation, Settings, bool]:
        """Plan a query; return its final relation, its settings and whether it projects."""
        settings, remaining = self._settings(query.stages, inherited)
        relation, remaining = self._source(remaining, settings)
        projected = False

        for stage in remaining:
            if isinstance(stage, ConfigCaseSensitive | ConfigTimeframe):
                raise stage_error(
                    stage.pos,
                    "config must come before every other stage",
                    "config",
                    "move it to the start of the query or subquery",
                )
            if isinstance(stage, DatasetStage):
                raise stage_error(
                    stage.pos,
                    "dataset must be the first stage after config",
                    "dataset",
                    "use a union stage to add another dataset",
                )
            relation = self._stage(stage, relation, settings)
            projected = projected or isinstance(stage, FieldsStage | CompStage)
        return relation, settings, projected

    def _settings(
        self, stages: tuple[Stage, ...], inherited: Settings
    ) -> tuple[Settings, tuple[Stage, ...]]:
        settings = inherited
        index = 0
        while index < len(stages):
            stage = stages[index]
            if isinstance(stage, ConfigCaseSensitive):
                settings = replace(settings, case_sensitive=stage.value)
            elif isinstance(stage, ConfigTimeframe):
                settings = replace(settings, timeframe=resolve_timeframe(stage, self.now))
            else:
                break
            index += 1
        return settings, stages[index:]

    def _source(
        self, stages: tuple[Stage, ...], settings: Settings
    ) -> tuple[Relation, tuple[Stage, ...]]:
        name, pos = DEFAULT_DATASET, Position()
        if stages and isinstance(stages[0], DatasetStage):
            name, pos = stages[0].name, stages[0].pos
            stages = stages[1:]
        return self.dataset(name, pos, settings), stages

    def dataset(self, name: str, pos: Position, settings: Settings) -> Relation:
        """Read a dataset, restricted to the time frame when one is set."""
        if name != DEFAULT_DATASET:
            raise stage_error(
                pos,
                f"dataset {name!r} not found",
                f"dataset {name!r}",
                f"only {DEFAULT_DATASET} is available offline",
            )
        # With a natural-order column, the dataset starts ordered, so that a later sort breaks
        # ties in the dataset's own order instead of an arbitrary one.
        ordered = self.order_column is not None
        natural = ""
        if self.order_column is not None:
            natural = f", {self.quote(self.order_column)} AS {self.quote(ORDER_COLUMN)}"
        sql = f"SELECT *{natural} FROM {self.quote(self.table)}"
        if settings.timeframe is not None:
            start, end = settings.timeframe
            time = self.quote("_time")
            conditions = [f"{time} <= {self.dialect.timestamp(end)}"]
            if start != BEGINNING:
                conditions.insert(0, f"{time} >= {self.dialect.timestamp(start)}")
            sql += " WHERE " + " AND ".join(conditions)
        scope = Scope(dataset_columns(), f"dataset {name}")
        return Relation(self.add_cte(sql), scope, ordered=ordered)

    def _stage(self, stage: Stage, relation: Relation, settings: Settings) -> Relation:
        if isinstance(stage, FilterStage):
            return self._filter(stage, relation, settings)
        if isinstance(stage, AlterStage):
            return self._alter(stage, relation, settings)
        if isinstance(stage, FieldsStage):
            return compile_fields(self, stage, relation)
        if isinstance(stage, ReplaceNullStage):
            return self._replacenull(stage, relation)
        if isinstance(stage, SortStage):
            return self._sort(stage, relation)
        if isinstance(stage, LimitStage):
            return self._limit(stage, relation)
        if isinstance(stage, DedupStage):
            return self._dedup(stage, relation)
        if isinstance(stage, CompStage):
            return compile_comp(self, stage, relation)
        if isinstance(stage, JoinStage | UnionStage):
            if isinstance(stage, JoinStage):
                return compile_join(self, stage, relation, settings)
            return compile_union(self, stage, relation, settings)
        raise stage_error(Position(), f"unsupported stage {type(stage).__name__}", "stage")

    def _filter(self, stage: FilterStage, relation: Relation, settings: Settings) -> Relation:
        condition = self.expressions(relation, settings).compile(stage.condition)
        if condition.type not in (BOOLEAN, NULL, UNKNOWN):
            raise stage_error(
                stage.pos,
                f"filter needs a true/false condition, not a {condition.type} value",
                "filter",
                "compare the value, for example 'field = \"text\"' or 'field != null'",
            )
        sql = f"SELECT * FROM {relation.cte} WHERE {condition.sql}"
        return Relation(self.add_cte(sql), relation.scope, relation.ordered)

    def _alter(self, stage: AlterStage, relation: Relation, settings: Settings) -> Relation:
        for assignment in stage.assignments:
            check_output_name(assignment.name, assignment.pos, "alter")
            value = self.expressions(relation, settings).compile(assignment.value)
            scope = relation.scope.copy(origin="the columns defined so far")
            scope.columns[assignment.name] = value.type

            selected = [
                f"{value.sql} AS {self.quote(name)}"
                if name == assignment.name
                else self.quote(name)
                for name in scope.names()
            ]
            if relation.ordered:
                selected.append(self.quote(ORDER_COLUMN))
            sql = f"SELECT {', '.join(selected)} FROM {relation.cte}"
            relation = Relation(self.add_cte(sql), scope, relation.ordered)
        return relation

    def _replacenull(self, stage: ReplaceNullStage, relation: Relation) -> Relation:
        column_type = relation.scope.type_of(stage.column)
        name = stage.column.name
        operand = self.quote(name)
        if column_type != STRING:
            operand = self.dialect.cast_text(operand)
        replacement = f"coalesce({operand}, {self.dialect.string(stage.value.value)})"

        scope = relation.scope.copy()
        scope.columns[name] = STRING
        selected = [
            f"{replacement} AS {self.quote(column)}" if column == name else self.quote(column)
            for column in scope.names()
        ]
        if relation.ordered:
            selected.append(self.quote(ORDER_COLUMN))
        sql = f"SELECT {', '.join(selected)} FROM {relation.cte}"
        return Relation(self.add_cte(sql), scope, relation.ordered)

    def order_term(self, key: SortKey, scope: Scope, nulls_last: bool | None = None) -> str:
        """Render one ORDER BY term.

        NULL sorts as the smallest value unless `nulls_last` says where it goes.
        """
        scope.type_of(key.column)
        direction = "DESC" if key.descending else "ASC"
        last = key.descending if nulls_last is None else nulls_last
        return f"{self.quote(key.column.name)} {direction} NULLS {'LAST' if last else 'FIRST'}"

    def _sort(self, stage: SortStage, relation: Relation) -> Relation:
        terms = [self.order_term(key, relation.scope) for key in stage.keys]
        if relation.ordered:
            # Rows that tie keep their earlier order, so the sort is stable.
            terms.append(f"{self.quote(ORDER_COLUMN)} ASC")
        columns = ", ".join(self.quote(name) for name in relation.scope.names())
        number = f"row_number() OVER (ORDER BY {', '.join(terms)}) AS {self.quote(ORDER_COLUMN)}"
        sql = f"SELECT {columns}, {number} FROM {relation.cte}"
        return Relation(self.add_cte(sql), relation.scope, ordered=True)

    def _limit(self, stage: LimitStage, relation: Relation) -> Relation:
        order = f" ORDER BY {self.quote(ORDER_COLUMN)}" if relation.ordered else ""
        sql = f"SELECT * FROM {relation.cte}{order} LIMIT {stage.count}"
        return Relation(self.add_cte(sql), relation.scope, relation.ordered)

    def _dedup(self, stage: DedupStage, relation: Relation) -> Relation:
        partition = []
        for column in stage.columns:
            relation.scope.type_of(column)
            partition.append(self.quote(column.name))

        if stage.order is not None:
            order = " ORDER BY " + self.order_term(stage.order, relation.scope, nulls_last=True)
        elif relation.ordered:
            order = f" ORDER BY {self.quote(ORDER_COLUMN)}"
        else:
            order = ""
            self.warnings.append(
                f"dedup at line {stage.pos.line} has no 'by' clause and no earlier sort, "
                "so which record it keeps for each value is arbitrary"
            )
        rank = f"row_number() OVER (PARTITION BY {', '.join(partition)}{order})"
        inner = f"SELECT *, {rank} AS {self.quote(RANK_COLUMN)} FROM {relation.cte}"
        columns = self.column_list(relation)
        sql = f"SELECT {columns} FROM ({inner}) AS ranked WHERE {self.quote(RANK_COLUMN)} = 1"
        return Relation(self.add_cte(sql), relation.scope, relation.ordered)

    def final_select(self, relation: Relation) -> str:
        """Render the whole statement: every CTE, then the visible columns in order."""
        ctes = ",\n".join(f"{name} AS (\n  {sql}\n)" for name, sql in self.ctes)
        columns = ", ".join(self.quote(name) for name in relation.scope.names())
        order = f" ORDER BY {self.quote(ORDER_COLUMN)}" if relation.ordered else ""
        return f"WITH {ctes}\nSELECT {columns} FROM {relation.cte}{order}"
