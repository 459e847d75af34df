"""Parse XQL expressions: boolean logic, comparisons, literals, columns and function calls.

Binding strength, loosest first: `or`, `and`, `not`, then the comparison operators. A
comparison takes two operands; it does not chain.
"""

from __future__ import annotations

from collections.abc import Callable

from rmmhunt.xql.errors import XqlError
from rmmhunt.xql.lexer import Kind, Token
from rmmhunt.xql.nodes import (
    BoolLit,
    BoolOp,
    Column,
    Compare,
    EnumLit,
    Expr,
    FuncCall,
    InList,
    Not,
    NullLit,
    NumberLit,
    Position,
    StringLit,
)

COMPARISON_OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "~=")
WORD_OPERATORS = ("contains", "incidr")
RESERVED_WORDS = frozenset({"and", "or", "not", "in", "contains", "incidr", "as", "by"})


class TokenStream:
    """A cursor over tokens with helpers that raise XqlError at the current token."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.index + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not Kind.END:
            self.index += 1
        return token

    def error(
        self, message: str, construct: str, token: Token | None = None, hint: str = ""
    ) -> XqlError:
        """Build an XqlError located at `token`, or at the current token."""
        where = token or self.current
        return XqlError(
            message, line=where.line, column=where.column, construct=construct, hint=hint or None
        )

    def describe(self, token: Token) -> str:
        return "end of query" if token.kind is Kind.END else repr(token.text)

    def expect_op(self, operator: str) -> Token:
        if not self.current.is_op(operator):
            found = self.describe(self.current)
            raise self.error(f"expected {operator!r} but found {found}", f"token {found}")
        return self.advance()

    def expect_word(self, *words: str) -> Token:
        if not self.current.is_word(*words):
            found = self.describe(self.current)
            expected = " or ".join(repr(word) for word in words)
            raise self.error(f"expected {expected} but found {found}", f"token {found}")
        return self.advance()

    def expect_name(self, description: str) -> Token:
        """Consume an identifier that names something (a column, alias or dataset)."""
        token = self.current
        if token.kind is not Kind.IDENT or token.text.lower() in RESERVED_WORDS:
            found = self.describe(token)
            raise self.error(f"expected {description} but found {found}", f"token {found}")
        if "*" in token.text:
            raise self.error(
                f"wildcard {token.text!r} is not allowed here",
                f"pattern {token.text!r}",
                hint="column patterns with * are only supported in the fields stage",
            )
        return self.advance()


def position(token: Token) -> Position:
    """Return the position of a token."""
    return Position(token.line, token.column)


class ExpressionParser:
    """Recursive-descent parser for one expression, reading from a shared TokenStream."""

    def __init__(self, stream: TokenStream) -> None:
        self.stream = stream

    def parse(self) -> Expr:
        """Parse a full boolean expression."""
        return self._binary("or", self._and)

    def _and(self) -> Expr:
        return self._binary("and", self._not)

    def _binary(self, word: str, operand: Callable[[], Expr]) -> Expr:
        left = operand()
        while self.stream.current.is_word(word):
            token = self.stream.advance()
            left = BoolOp(word, left, operand(), pos=position(token))
        return left

    def _not(self) -> Expr:
        if self.stream.current.is_word("not"):
            token = self.stream.advance()
            return Not(self._not(), pos=position(token))
        return self._comparison()

    def _comparison(self) -> Expr:
        left = self.operand()
        token = self.stream.current

        if token.kind is Kind.OPERATOR and token.text in COMPARISON_OPERATORS:
            self.stream.advance()
            return Compare(token.text, left, self.operand(), pos=position(token))

        negated = False
        if token.is_word("not") and self.stream.peek().is_word("in", *WORD_OPERATORS):
            self.stream.advance()
            negated = True
        word_token = self.stream.current
        if word_token.is_word("in"):
            self.stream.advance()
            return InList(left, self._in_items(), negated, pos=position(token))
        if word_token.is_word(*WORD_OPERATORS):
            self.stream.advance()
            operator = ("not " if negated else "") + word_token.text.lower()
            return Compare(operator, left, self.operand(), pos=position(token))
        return left

    def _in_items(self) -> tuple[Expr, ...]:
        self.stream.expect_op("(")
        if self.stream.current.is_word("dataset"):
            raise self.stream.error(
                "'in' with a subquery is not supported",
                "in-subquery",
                hint="use a join stage instead",
            )
        items = [self.operand()]
        while self.stream.current.is_op(","):
            self.stream.advance()
            items.append(self.operand())
        self.stream.expect_op(")")
        return tuple(items)

    def operand(self) -> Expr:
        """Parse a literal, column, `ENUM.X`, function call or bracketed expression."""
        token = self.stream.current
        pos = position(token)

        if token.is_op("("):
            self.stream.advance()
            inner = self.parse()
            self.stream.expect_op(")")
            return inner
        if token.kind is Kind.STRING:
            self.stream.advance()
            return StringLit(token.text, pos=pos)
        if token.kind is Kind.TRIPLE_STRING:
            self.stream.advance()
            return StringLit(token.text, triple=True, pos=pos)
        if token.kind is Kind.NUMBER or (
            token.is_op("-") and self.stream.peek().kind is Kind.NUMBER
        ):
            return self._number()
        if token.kind is Kind.IDENT:
            return self._word_operand(token)

        found = self.stream.describe(token)
        raise self.stream.error(f"expected a value but found {found}", f"token {found}")

    def _number(self) -> NumberLit:
        start = self.stream.current
        sign = 1
        if start.is_op("-"):
            self.stream.advance()
            sign = -1
        text = self.stream.advance().text
        value: int | float = float(text) if "." in text else int(text)
        return NumberLit(sign * value, pos=position(start))

    def _word_operand(self, token: Token) -> Expr:
        pos = position(token)
        lowered = token.text.lower()

        if lowered in ("true", "false"):
            self.stream.advance()
            return BoolLit(lowered == "true", pos=pos)
        if lowered == "null":
            self.stream.advance()
            return NullLit(pos=pos)
        if token.text == "ENUM" and self.stream.peek().is_op("."):
            self.stream.advance()
            self.stream.advance()
            return EnumLit(self.stream.expect_name("an enum value after ENUM.").text, pos=pos)
        if self.stream.peek().is_op("("):
            return self._call(token)

        name = self.stream.expect_name("a column").text
        if self.stream.current.is_op("."):
            self.stream.advance()
            field = self.stream.expect_name(f"a column of {name!r}").text
            return Column(field, qualifier=name, pos=pos)
        return Column(name, pos=pos)

    def _call(self, token: Token) -> FuncCall:
        self.stream.advance()
        self.stream.expect_op("(")
        args: list[Expr] = []
        if not self.stream.current.is_op(")"):
            args.append(self.parse())
            while self.stream.current.is_op(","):
                self.stream.advance()
                args.append(self.parse())
        self.stream.expect_op(")")
        return FuncCall(token.text.lower(), tuple(args), pos=position(token))
