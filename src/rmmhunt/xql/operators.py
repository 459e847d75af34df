"""Compile XQL comparisons and boolean logic to SQL.

Operator meanings follow the Cortex XDR 3.x "Supported operators" page. A `*` in a
double-quoted string is a wildcard for `=`, `!=`, `in` and `not in`, and `= null` and
`!= null` test for NULL. With `config case_sensitive = false` every string comparison,
pattern and regular expression ignores case.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from rmmhunt.xql.dialect import Dialect
from rmmhunt.xql.errors import XqlError
from rmmhunt.xql.nodes import (
    BoolLit,
    BoolOp,
    Compare,
    EnumLit,
    Expr,
    InList,
    Not,
    NullLit,
    NumberLit,
    StringLit,
)
from rmmhunt.xql.regex import re2_error
from rmmhunt.xql.scope import BOOLEAN, INTEGER, LIST, NUMBER, STRING, TIMESTAMP, UNKNOWN

SQL_COMPARISONS = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
NUMERIC = (INTEGER, NUMBER)


@dataclass(frozen=True)
class Typed:
    """A compiled SQL expression, its coarse type and, for lists, its element type."""

    sql: str
    type: str
    element: str = UNKNOWN


def error_at(expr: Expr, message: str, construct: str, hint: str | None = None) -> XqlError:
    """Build an XqlError located at an expression."""
    pos = getattr(expr, "pos", None)
    return XqlError(
        message,
        line=pos.line if pos else 0,
        column=pos.column if pos else 0,
        construct=construct,
        hint=hint,
    )


def is_wildcard(expr: Expr) -> bool:
    """Return True for a double-quoted string with `*` (triple-quoted strings are literal)."""
    return isinstance(expr, StringLit) and not expr.triple and "*" in expr.value


def is_number_text(value: str) -> bool:
    """Tell whether text is a number that DuckDB can cast to DOUBLE."""
    try:
        float(value)
    except ValueError:
        return False
    return True


def check_regex(pattern: Expr, construct: str) -> None:
    """Raise XqlError when a string literal is a regular expression that RE2 rejects."""
    if isinstance(pattern, StringLit) and (message := re2_error(pattern.value)) is not None:
        raise error_at(
            pattern,
            f"invalid regular expression {pattern.value!r}: {message}",
            construct,
            "DuckDB uses RE2, which has no backreferences or lookarounds",
        )


def check_comparable(expr: Compare, left: Typed, right: Typed) -> None:
    """Raise XqlError for a comparison that DuckDB would reject, or fail on, at run time.

    A number compared with text that is not a number, and a time compared with a number or a
    boolean, are errors that the types already show.
    """
    # NOTE: a text column compared with a number literal still fails only at run time, on the
    # first value that DuckDB cannot convert.
    sides = ((left, right, expr.right), (right, left, expr.left))
    for one, other, other_node in sides:
        if (
            one.type in NUMERIC
            and isinstance(other_node, StringLit)
            and not is_number_text(other_node.value)
        ):
            raise error_at(
                other_node,
                f"cannot compare a number with the text {other_node.value!r}",
                f"comparison {expr.op!r}",
                "compare with a number, or convert the column with to_string()",
            )
        if one.type == TIMESTAMP and other.type in (*NUMERIC, BOOLEAN):
            raise error_at(
                expr,
                f"cannot compare a timestamp with a value of type {other.type}",
                f"comparison {expr.op!r}",
                'compare with a time such as "2024-05-01T13:00:00Z" or use timestamp_diff()',
            )


def like_pattern(value: str) -> str:
    """Turn an XQL wildcard string into a LIKE pattern with backslash escapes."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


class OperatorCompiler:
    """The boolean and comparison half of the expression compiler.

    Subclasses provide `compile(expr) -> Typed`, `dialect` and `case_sensitive`.
    """

    dialect: Dialect
    case_sensitive: bool

    def compile(self, expr: Expr) -> Typed:
        raise NotImplementedError

    def compile_logic(self, expr: Expr) -> Typed | None:
        """Compile `and`, `or`, `not`, comparisons and `in`; return None for other nodes."""
        if isinstance(expr, BoolOp):
            left = self.compile(expr.left).sql
            right = self.compile(expr.right).sql
            return Typed(f"({left} {expr.op.upper()} {right})", BOOLEAN)
        if isinstance(expr, Not):
            return Typed(f"(NOT {self.compile(expr.operand).sql})", BOOLEAN)
        if isinstance(expr, Compare):
            return Typed(self._compare(expr), BOOLEAN)
        if isinstance(expr, InList):
            return Typed(self._in_list(expr), BOOLEAN)
        return None

    def _fold(self, typed: Typed) -> str:
        """Lower-case a string operand when comparisons ignore case."""
        if self.case_sensitive or typed.type != STRING:
            return typed.sql
        return f"lower({typed.sql})"

    def _as_text(self, typed: Typed) -> Typed:
        if typed.type == STRING:
            return typed
        return Typed(self.dialect.cast_text(typed.sql), STRING)

    def _compare(self, expr: Compare) -> str:
        op = expr.op
        if op in ("=", "!="):
            return self._equality(expr)
        if op in SQL_COMPARISONS:
            left, right = self.compile(expr.left), self.compile(expr.right)
            check_comparable(expr, left, right)
            return f"({self._fold(left)} {SQL_COMPARISONS[op]} {self._fold(right)})"
        if op == "~=":
            check_regex(expr.right, "regular expression")
            left = self._as_text(self.compile(expr.left))
            pattern = self._as_text(self.compile(expr.right))
            return self.dialect.regex_search(left.sql, pattern.sql, not self.case_sensitive)
        if op in ("contains", "not contains"):
            return self._contains(expr)
        return self._incidr(expr)

    def _equality(self, expr: Compare) -> str:
        negate = expr.op == "!="
        if isinstance(expr.right, NullLit) or isinstance(expr.left, NullLit):
            other = expr.left if isinstance(expr.right, NullLit) else expr.right
            test = "IS NOT NULL" if negate else "IS NULL"
            return f"({self.compile(other).sql} {test})"

        left = self.compile(expr.left)
        if is_wildcard(expr.right):
            assert isinstance(expr.right, StringLit)
            match = self._like(left, expr.right)
            return f"(NOT {match})" if negate else match

        right = self.compile(expr.right)
        check_comparable(expr, left, right)
        operator = "<>" if negate else "="
        return f"({self._fold(left)} {operator} {self._fold(right)})"

    def _like(self, operand: Typed, pattern: StringLit) -> str:
        text = self._as_text(operand)
        pattern_sql = self.dialect.string(like_pattern(pattern.value))
        if not self.case_sensitive:
            return self.dialect.like(f"lower({text.sql})", f"lower({pattern_sql})")
        return self.dialect.like(text.sql, pattern_sql)

    def _in_list(self, expr: InList) -> str:
        operand = self.compile(expr.operand)
        exact: list[str] = []
        alternatives: list[str] = []

        for item in expr.items:
            if not isinstance(item, StringLit | NumberLit | EnumLit | BoolLit | NullLit):
                raise error_at(
                    item, "'in' takes only literal values", "in list", "list strings or numbers"
                )
            if isinstance(item, NullLit):
                alternatives.append(f"({operand.sql} IS NULL)")
            elif is_wildcard(item):
                assert isinstance(item, StringLit)
                alternatives.append(self._like(operand, item))
            else:
                exact.append(self._fold(self.compile(item)))

        if exact:
            alternatives.insert(0, f"({self._fold(operand)} IN ({', '.join(exact)}))")
        combined = " OR ".join(alternatives)
        return f"(NOT ({combined}))" if expr.negated else f"({combined})"

    def _contains(self, expr: Compare) -> str:
        left = self.compile(expr.left)
        if left.type == LIST:
            raise error_at(
                expr,
                "'contains' on a list is not supported",
                "contains on list",
                "use arrayindex() or a function on the list elements",
            )
        haystack = self._fold(self._as_text(left))
        needle = self._fold(self._as_text(self.compile(expr.right)))
        test = self.dialect.contains(haystack, needle)
        return f"(NOT {test})" if expr.op == "not contains" else test

    def _incidr(self, expr: Compare) -> str:
        if not isinstance(expr.right, StringLit):
            raise error_at(expr, 'incidr needs a CIDR string such as "10.0.0.0/8"', "incidr")
        try:
            network = ipaddress.ip_network(expr.right.value.strip(), strict=False)
        except ValueError as error:
            raise error_at(
                expr.right, f"invalid CIDR {expr.right.value!r}: {error}", "incidr"
            ) from error
        if network.version != 4:
            # TODO: IPv6 ranges need a 128-bit address comparison in SQL.
            raise error_at(expr.right, "incidr supports IPv4 ranges only", "incidr IPv6")

        address = self.dialect.ipv4_to_integer(self._as_text(self.compile(expr.left)).sql)
        low, high = int(network.network_address), int(network.broadcast_address)
        test = f"({address} BETWEEN {low} AND {high})"
        return f"(NOT {test})" if expr.op == "not incidr" else test
