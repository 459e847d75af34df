"""Compile XQL values and functions to SQL: columns, literals and the supported functions.

Function meanings follow the Cortex XDR 3.x "Functions" reference pages. Arrays are 0-based
in XQL (`arrayindex(a, -1)` is the last element); SQL lists are 1-based, which the compiler
converts.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from datetime import datetime

from rmmhunt.xql.dialect import EXTRACT_PARTS, Dialect
from rmmhunt.xql.nodes import (
    BoolLit,
    Column,
    EnumLit,
    Expr,
    FuncCall,
    NullLit,
    NumberLit,
    StringLit,
)
from rmmhunt.xql.operators import (
    OperatorCompiler,
    Typed,
    check_regex,
    error_at,
    is_number_text,
)
from rmmhunt.xql.scope import (
    BOOLEAN,
    INTEGER,
    LIST,
    NULL,
    NUMBER,
    STRING,
    TIMESTAMP,
    UNKNOWN,
    Scope,
)

# timestamp_diff parts and their length in microseconds.
DIFF_UNITS = {
    "MILLISECOND": 1_000,
    "SECOND": 1_000_000,
    "MINUTE": 60_000_000,
    "HOUR": 3_600_000_000,
    "DAY": 86_400_000_000,
}

Handler = Callable[["ExpressionCompiler", FuncCall, list[Typed]], Typed]


class ExpressionCompiler(OperatorCompiler):
    """Compile expressions against the columns in scope.

    `sources` maps a qualifier (None for bare names, or a join alias) to the SQL table alias
    prefix and the Scope of that side.
    """

    def __init__(
        self,
        dialect: Dialect,
        sources: dict[str | None, tuple[str, Scope]],
        case_sensitive: bool,
        now: datetime,
    ) -> None:
        self.dialect = dialect
        self.sources = sources
        self.case_sensitive = case_sensitive
        self.now = now

    def compile(self, expr: Expr) -> Typed:
        """Compile one expression to SQL, raising XqlError for anything unsupported."""
        logic = self.compile_logic(expr)
        if logic is not None:
            return logic
        if isinstance(expr, Column):
            return self._column(expr)
        if isinstance(expr, StringLit):
            return Typed(self.dialect.string(expr.value), STRING)
        if isinstance(expr, EnumLit):
            # The dataset stores enum values by name, upper-case and without the prefix.
            return Typed(self.dialect.string(expr.name), STRING)
        if isinstance(expr, NumberLit):
            return Typed(repr(expr.value), INTEGER if isinstance(expr.value, int) else NUMBER)
        if isinstance(expr, BoolLit):
            return Typed("TRUE" if expr.value else "FALSE", BOOLEAN)
        if isinstance(expr, NullLit):
            return Typed("NULL", NULL)
        if isinstance(expr, FuncCall):
            return self._call(expr)
        raise error_at(expr, f"unsupported expression {expr.to_xql()!r}", "expression")

    def _column(self, column: Column) -> Typed:
        source = self.sources.get(column.qualifier)
        if source is None:
            known = ", ".join(repr(name) for name in self.sources if name) or "none"
            raise error_at(
                column,
                f"unknown qualifier {column.qualifier!r}",
                f"qualifier {column.qualifier!r}",
                f"join aliases in scope: {known}",
            )
        prefix, scope = source
        return Typed(prefix + self.dialect.quote(column.name), scope.type_of(column))

    def _call(self, call: FuncCall) -> Typed:
        entry = FUNCTIONS.get(call.name)
        if entry is None:
            matches = difflib.get_close_matches(call.name, list(FUNCTIONS), n=1, cutoff=0.6)
            raise error_at(
                call,
                f"unsupported function {call.name!r}",
                f"function {call.name!r}",
                f"did you mean {matches[0]!r}?" if matches else "see docs/xql.md for functions",
            )
        minimum, maximum, handler = entry
        if not minimum <= len(call.args) <= maximum:
            expected = str(minimum) if minimum == maximum else f"{minimum} to {maximum}"
            raise error_at(
                call,
                f"{call.name}() takes {expected} arguments, not {len(call.args)}",
                f"function {call.name!r}",
            )
        return handler(self, call, [self.compile(arg) for arg in call.args])

    def literal_string(self, call: FuncCall, index: int, description: str) -> str:
        """Return argument `index` of a call, which must be a string literal."""
        arg = call.args[index]
        if not isinstance(arg, StringLit):
            raise error_at(arg, f"{call.name}() needs {description} as a string literal", call.name)
        return arg.value

    def text(self, typed: Typed) -> str:
        return typed.sql if typed.type == STRING else self.dialect.cast_text(typed.sql)

    def require_timestamp(self, call: FuncCall, typed: Typed, index: int) -> None:
        if typed.type not in (TIMESTAMP, NULL):
            raise error_at(
                call.args[index], f"{call.name}() needs a timestamp, not {typed.type}", call.name
            )


def _unary(template: str, result: str) -> Handler:
    def handler(compiler: ExpressionCompiler, call: FuncCall, args: list[Typed]) -> Typed:
        return Typed(template.format(compiler.text(args[0])), result)

    return handler


def _concat(compiler: ExpressionCompiler, call: FuncCall, args: list[Typed]) -> Typed:
    # NOTE: any NULL argument makes the result NULL, as SQL `||` does; Cortex may differ.
    return Typed("(" + " || ".join(compiler.text(arg) for arg in args) + ")", STRING)


def _coalesce(compiler: ExpressionCompiler, call: FuncCall, args: list[Typed]) -> Typed:
    result = next((arg.type for arg in args if arg.type != NULL), NULL)
    return Typed(f"coalesce({', '.join(arg.sql for arg in args)})", result)


def _if(compiler: ExpressionCompiler, call: FuncCall, args: list[Typed]) -> Typed:
    if args[0].type not in (BOOLEAN, NULL, UNKNOWN):
        raise error_at(
            call.args[0],
            f"if() needs a true/false condition, not a {args[0].type} value",
            "if",
            "compare the value, for example 'field = \"text\"' or 'field != null'",
        )
    otherwise = args[2].sql if len(args) == 3 else "NULL"
    return Typed(f"(CASE WHEN {args[0].sql} THEN {args[1].sql} ELSE {otherwise} END)", args[1].type)


def _to_string(compiler: ExpressionCompiler, call: FuncCall, args: list[Typed]) -> Typed:
    return Typed(compiler.text(args[0]), STRING)


def _to_integer(compiler: ExpressionCompiler, call: FuncCall, args: list[Typed]) -> Typed:
    return Typed(compiler.dialect.try_cast_integer(args[0].sql), INTEGER)


def _to_number(compiler: ExpressionCompiler, call: FuncCall, args: list[Typed]) -> Typed:
    return Typed(compiler.dialect.try_cast_number(args[0].sql), NUMBER)


def _len(compiler: ExpressionCompiler, call: FuncCall, args: list[Typed]) -> Typed:
    if args[0].type == LIST:
        return Typed(compiler.dialect.list_length(args[0].sql), INTEGER)
    if args[0].type in (TIMESTAMP, BOOLEAN):
        # The length of the text form of a time or a boolean depends on how it is printed.
        raise error_at(
            call.args[0],
            f"len() needs text or a list, not a {args[0].type} value",
            "len",
            "convert the value with to_string() first if its text length is wanted",
        )
    return Typed(compiler.dialect.text_length(compiler.text(args[0])), INTEGER)


def _split(compiler: ExpressionCompiler, call: FuncCall, args: list[Typed]) -> Typed:
    sql = compiler.dialect.split(compiler.text(args[0]), compiler.text(args[1]))
    return Typed(sql, LIST, element=STRING)


def _arrayindex(compiler: ExpressionCompiler, call: FuncCall, args: list[Typed]) -> Typed:
    array, index = args
    if array.type != LIST:
        raise error_at(call.args[0], f"arrayindex() needs a list, not {array.type}", call.name)
    index_arg = call.args[1]
    if isinstance(index_arg, NumberLit) and isinstance(index_arg.value, int):
        # XQL counts from 0 and from -1 at the end; SQL lists count from 1 and from -1.
        position = str(index_arg.value + 1 if index_arg.value >= 0 else index_arg.value)
    else:
        position = f"(CASE WHEN {index.sql} >= 0 THEN {index.sql} + 1 ELSE {index.sql} END)"
    return Typed(compiler.dialect.list_element(array.sql, position), array.element)


def _json_extract_scalar(compiler: ExpressionCompiler, call: FuncCall, args: list[Typed]) -> Typed:
    path = compiler.literal_string(call, 1, "a JSONPath such as '$.name'")
    if not path.startswith("$"):
        raise error_at(call.args[1], f"JSONPath {path!r} must start with '$'", call.name)
    sql = compiler.dialect.json_scalar(compiler.text(args[0]), compiler.dialect.string(path))
    return Typed(sql, STRING)


def _extract_time(compiler: ExpressionCompiler, call: FuncCall, args: list[Typed]) -> Typed:
    compiler.require_timestamp(call, args[0], 0)
    part = compiler.literal_string(call, 1, 'a time part such as "HOUR"').upper()
    if part not in EXTRACT_PARTS:
        raise error_at(
            call.args[1],
            f"unsupported time part {part!r}",
            call.name,
            "supported: " + ", ".join(EXTRACT_PARTS),
        )
    return Typed(compiler.dialect.extract_part(args[0].sql, part), INTEGER)


def _timestamp_diff(compiler: ExpressionCompiler, call: FuncCall, args: list[Typed]) -> Typed:
    compiler.require_timestamp(call, args[0], 0)
    compiler.require_timestamp(call, args[1], 1)
    part = compiler.literal_string(call, 2, 'a time part such as "SECOND"').upper()
    if part not in DIFF_UNITS:
        raise error_at(
            call.args[2],
            f"unsupported time part {part!r}",
            call.name,
            "supported: " + ", ".join(DIFF_UNITS),
        )
    dialect = compiler.dialect
    micros = (
        f"({dialect.epoch_microseconds(args[0].sql)} - {dialect.epoch_microseconds(args[1].sql)})"
    )
    # Whole units between the two instants, truncated toward zero; positive when the first is later.
    return Typed(f"CAST(trunc({micros} / {DIFF_UNITS[part]}) AS BIGINT)", INTEGER)


def _replace(compiler: ExpressionCompiler, call: FuncCall, args: list[Typed]) -> Typed:
    texts = ", ".join(compiler.text(arg) for arg in args)
    return Typed(f"replace({texts})", STRING)


def _regextract(compiler: ExpressionCompiler, call: FuncCall, args: list[Typed]) -> Typed:
    pattern = compiler.literal_string(call, 1, "a regular expression")
    check_regex(call.args[1], call.name)
    try:
        groups = re.compile(pattern).groups
    except re.error as error:
        raise error_at(call.args[1], f"invalid regular expression: {error}", call.name) from error
    if groups > 1:
        raise error_at(call.args[1], "regextract() allows at most one capture group", call.name)
    sql = compiler.dialect.regex_extract_all(
        compiler.text(args[0]), compiler.dialect.string(pattern), groups
    )
    return Typed(sql, LIST, element=STRING)


def _current_time(compiler: ExpressionCompiler, call: FuncCall, args: list[Typed]) -> Typed:
    return Typed(compiler.dialect.timestamp(compiler.now), TIMESTAMP)


def _require_number(call: FuncCall, node: Expr, typed: Typed) -> None:
    """Reject an argument that is neither a number nor text that could contain one."""
    not_number = typed.type in (BOOLEAN, TIMESTAMP, LIST)
    if isinstance(node, StringLit) and not is_number_text(node.value):
        not_number = True
    if not_number:
        raise error_at(
            node,
            f"{call.name}() needs numbers, not a {typed.type} value",
            call.name,
            "convert text with to_number()",
        )


def _arithmetic(operator: str) -> Handler:
    def handler(compiler: ExpressionCompiler, call: FuncCall, args: list[Typed]) -> Typed:
        for node, typed in zip(call.args, args, strict=True):
            _require_number(call, node, typed)
        left, right = args
        if operator == "/":
            return Typed(f"(CAST({left.sql} AS DOUBLE) / {right.sql})", NUMBER)
        both_integer = left.type == INTEGER and right.type == INTEGER
        return Typed(f"({left.sql} {operator} {right.sql})", INTEGER if both_integer else NUMBER)

    return handler


# name -> (minimum arguments, maximum arguments, handler)
FUNCTIONS: dict[str, tuple[int, int, Handler]] = {
    "lowercase": (1, 1, _unary("lower({})", STRING)),
    "uppercase": (1, 1, _unary("upper({})", STRING)),
    "trim": (1, 1, _unary("trim({})", STRING)),
    "ltrim": (1, 1, _unary("ltrim({})", STRING)),
    "rtrim": (1, 1, _unary("rtrim({})", STRING)),
    "concat": (2, 64, _concat),
    "coalesce": (2, 64, _coalesce),
    "if": (2, 3, _if),
    "to_string": (1, 1, _to_string),
    "to_integer": (1, 1, _to_integer),
    "to_number": (1, 1, _to_number),
    "len": (1, 1, _len),
    "split": (2, 2, _split),
    "arrayindex": (2, 2, _arrayindex),
    "json_extract_scalar": (2, 2, _json_extract_scalar),
    "extract_time": (2, 2, _extract_time),
    "timestamp_diff": (3, 3, _timestamp_diff),
    "replace": (3, 3, _replace),
    "regextract": (2, 2, _regextract),
    "current_time": (0, 0, _current_time),
    "add": (2, 2, _arithmetic("+")),
    "subtract": (2, 2, _arithmetic("-")),
    "multiply": (2, 2, _arithmetic("*")),
    "divide": (2, 2, _arithmetic("/")),
}

__all__ = ["FUNCTIONS", "UNKNOWN", "ExpressionCompiler", "Typed"]
