"""The XQL syntax tree: expressions, stages and the query, each able to render itself as XQL.

Positions are kept for error messages but left out of equality, so that
`parse(query.to_xql()) == query` holds for every query the parser accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Position:
    """A 1-based line and column in the query text."""

    line: int = 0
    column: int = 0


NOWHERE = Position()


# Binding strength of each operator class, loosest first.
PRECEDENCE_OR = 1
PRECEDENCE_AND = 2
PRECEDENCE_NOT = 3
PRECEDENCE_COMPARE = 4
PRECEDENCE_ATOM = 5


@dataclass(frozen=True)
class Expr:
    """Base class of expressions."""

    def to_xql(self) -> str:
        """Render the expression as XQL text."""
        raise NotImplementedError

    def precedence(self) -> int:
        """Return how tightly the expression binds, for parenthesising."""
        return PRECEDENCE_ATOM


@dataclass(frozen=True)
class Column(Expr):
    """A field reference, optionally qualified by a join alias (`alias.name`)."""

    name: str
    qualifier: str | None = None
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        return f"{self.qualifier}.{self.name}" if self.qualifier else self.name


@dataclass(frozen=True)
class StringLit(Expr):
    """A string literal; `triple` marks a triple-quoted one, whose escapes were processed."""

    value: str
    triple: bool = False
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        if not self.triple:
            return f'"{self.value}"'
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        escaped = escaped.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
        return f'"""{escaped}"""'


@dataclass(frozen=True)
class NumberLit(Expr):
    """An integer or decimal literal."""

    value: int | float
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        return repr(self.value)


@dataclass(frozen=True)
class BoolLit(Expr):
    """`true` or `false`."""

    value: bool
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        return "true" if self.value else "false"


@dataclass(frozen=True)
class NullLit(Expr):
    """`null`."""

    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        return "null"


@dataclass(frozen=True)
class EnumLit(Expr):
    """`ENUM.NAME`, which compares as the text NAME."""

    name: str
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        return f"ENUM.{self.name}"


@dataclass(frozen=True)
class FuncCall(Expr):
    """A function call such as `lowercase(x)`; the name is stored in lower case."""

    name: str
    args: tuple[Expr, ...]
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        return f"{self.name}({', '.join(arg.to_xql() for arg in self.args)})"


@dataclass(frozen=True)
class Compare(Expr):
    """A binary comparison: `=`, `!=`, `<`, `<=`, `>`, `>=`, `~=`, `contains`,
    `not contains`, `incidr` or `not incidr`."""

    op: str
    left: Expr
    right: Expr
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def precedence(self) -> int:
        return PRECEDENCE_COMPARE

    def to_xql(self) -> str:
        left = _wrap(self.left, PRECEDENCE_COMPARE + 1)
        right = _wrap(self.right, PRECEDENCE_COMPARE + 1)
        return f"{left} {self.op} {right}"


@dataclass(frozen=True)
class InList(Expr):
    """`x in (...)` or `x not in (...)`."""

    operand: Expr
    items: tuple[Expr, ...]
    negated: bool = False
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def precedence(self) -> int:
        return PRECEDENCE_COMPARE

    def to_xql(self) -> str:
        keyword = "not in" if self.negated else "in"
        items = ", ".join(item.to_xql() for item in self.items)
        return f"{_wrap(self.operand, PRECEDENCE_COMPARE + 1)} {keyword} ({items})"


@dataclass(frozen=True)
class Not(Expr):
    """Boolean `not`."""

    operand: Expr
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def precedence(self) -> int:
        return PRECEDENCE_NOT

    def to_xql(self) -> str:
        return f"not {_wrap(self.operand, PRECEDENCE_NOT)}"


@dataclass(frozen=True)
class BoolOp(Expr):
    """Boolean `and` or `or` of two operands; chains nest to the left."""

    op: str
    left: Expr
    right: Expr
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def precedence(self) -> int:
        return PRECEDENCE_AND if self.op == "and" else PRECEDENCE_OR

    def to_xql(self) -> str:
        own = self.precedence()
        # The right operand needs brackets at equal strength, because chains nest to the left.
        return f"{_wrap(self.left, own)} {self.op} {_wrap(self.right, own + 1)}"


def _wrap(expr: Expr, minimum: int) -> str:
    text = expr.to_xql()
    return text if expr.precedence() >= minimum else f"({text})"


@dataclass(frozen=True)
class Stage:
    """Base class of stages."""

    def to_xql(self) -> str:
        """Render the stage as XQL text."""
        raise NotImplementedError


@dataclass(frozen=True)
class ConfigCaseSensitive(Stage):
    """`config case_sensitive = true|false`."""

    value: bool
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        return f"config case_sensitive = {'true' if self.value else 'false'}"


@dataclass(frozen=True)
class ConfigTimeframe(Stage):
    """`config timeframe = 7d`, or `config timeframe between "start" and "end"`."""

    duration: str | None = None
    start: str | None = None
    end: str | None = None
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        if self.duration is not None:
            return f"config timeframe = {self.duration}"
        return f'config timeframe between "{self.start}" and "{self.end}"'


@dataclass(frozen=True)
class DatasetStage(Stage):
    """`dataset = name`."""

    name: str
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        return f"dataset = {self.name}"


@dataclass(frozen=True)
class FilterStage(Stage):
    """`filter <boolean expression>`."""

    condition: Expr
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        return f"filter {self.condition.to_xql()}"


@dataclass(frozen=True)
class FieldItem:
    """One entry of a fields stage: a column name or `*` pattern, and an optional new name."""

    name: str
    alias: str | None = None
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        return f"{self.name} as {self.alias}" if self.alias else self.name


@dataclass(frozen=True)
class FieldsStage(Stage):
    """`fields a, b as c`, or `fields - a, b` to drop columns."""

    items: tuple[FieldItem, ...]
    exclude: bool = False
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        prefix = "fields - " if self.exclude else "fields "
        return prefix + ", ".join(item.to_xql() for item in self.items)


@dataclass(frozen=True)
class Assignment:
    """`name = expression` inside an alter stage."""

    name: str
    value: Expr
    pos: Position = field(default=NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class AlterStage(Stage):
    """`alter x = f(...), y = g(...)`."""

    assignments: tuple[Assignment, ...]
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        parts = (f"{item.name} = {item.value.to_xql()}" for item in self.assignments)
        return "alter " + ", ".join(parts)


@dataclass(frozen=True)
class Aggregate:
    """One aggregate of a comp stage: `count_distinct(x) as y`."""

    func: str
    arg: Column | None
    alias: str | None = None
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        text = f"{self.func}({self.arg.to_xql() if self.arg else ''})"
        return f"{text} as {self.alias}" if self.alias else text


@dataclass(frozen=True)
class CompStage(Stage):
    """`comp agg(x) as y, ... by a, b`."""

    aggregates: tuple[Aggregate, ...]
    by: tuple[Column, ...] = ()
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        text = "comp " + ", ".join(agg.to_xql() for agg in self.aggregates)
        if self.by:
            text += " by " + ", ".join(column.to_xql() for column in self.by)
        return text


@dataclass(frozen=True)
class SortKey:
    """One key of a sort stage, or the `by` clause of a dedup stage."""

    column: Column
    descending: bool

    def to_xql(self) -> str:
        return f"{'desc' if self.descending else 'asc'} {self.column.to_xql()}"


@dataclass(frozen=True)
class DedupStage(Stage):
    """`dedup a, b [by asc|desc field]`."""

    columns: tuple[Column, ...]
    order: SortKey | None = None
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        text = "dedup " + ", ".join(column.to_xql() for column in self.columns)
        return f"{text} by {self.order.to_xql()}" if self.order else text


@dataclass(frozen=True)
class SortStage(Stage):
    """`sort desc _time, asc agent_hostname`."""

    keys: tuple[SortKey, ...]
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        return "sort " + ", ".join(key.to_xql() for key in self.keys)


@dataclass(frozen=True)
class LimitStage(Stage):
    """`limit N`."""

    count: int
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        return f"limit {self.count}"


@dataclass(frozen=True)
class JoinStage(Stage):
    """`join [conflict_strategy = ...] [type = ...] (subquery) as alias condition`."""

    subquery: Query
    alias: str
    condition: Expr
    join_type: str = "inner"
    conflict_strategy: str = "right"
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        return (
            f"join conflict_strategy = {self.conflict_strategy} type = {self.join_type} "
            f"({self.subquery.to_xql(separator=' | ')}) as {self.alias} "
            f"{self.condition.to_xql()}"
        )


@dataclass(frozen=True)
class UnionStage(Stage):
    """`union dataset_name` or `union (subquery)`."""

    subquery: Query | None = None
    dataset: str | None = None
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        if self.subquery is not None:
            return f"union ({self.subquery.to_xql(separator=' | ')})"
        return f"union {self.dataset}"


@dataclass(frozen=True)
class ReplaceNullStage(Stage):
    """`replacenull field = "text"`."""

    column: Column
    value: StringLit
    pos: Position = field(default=NOWHERE, compare=False, repr=False)

    def to_xql(self) -> str:
        return f"replacenull {self.column.to_xql()} = {self.value.to_xql()}"


@dataclass(frozen=True)
class Query:
    """A parsed XQL query: its stages in order."""

    stages: tuple[Stage, ...]

    def to_xql(self, separator: str = "\n| ") -> str:
        """Render the query as XQL text that parses back to an equal Query."""
        return separator.join(stage.to_xql() for stage in self.stages)
