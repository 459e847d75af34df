"""Split XQL text into tokens that carry their 1-based line and column.

Strings follow the Cortex XQL filter-stage reference: a string in single double quotes is
taken literally (no escape sequences, `*` is a wildcard for `=`, `!=`, `in` and `not in`), and
a string in triple double quotes has its escape sequences processed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from rmmhunt.xql.errors import XqlError


class Kind(enum.Enum):
    """Token kinds."""

    IDENT = "identifier"
    NUMBER = "number"
    DURATION = "duration"
    STRING = "string"
    TRIPLE_STRING = "triple-quoted string"
    OPERATOR = "operator"
    END = "end of query"


@dataclass(frozen=True)
class Token:
    """One token: its kind, its text (a string's processed value) and where it starts."""

    kind: Kind
    text: str
    line: int
    column: int

    def is_word(self, *words: str) -> bool:
        """Return True when the token is an identifier equal to one of `words`, ignoring case."""
        return self.kind is Kind.IDENT and self.text.lower() in words

    def is_op(self, *operators: str) -> bool:
        """Return True when the token is one of the given operators."""
        return self.kind is Kind.OPERATOR and self.text in operators


# Longest first, so that `!=` is not read as `!` followed by `=`.
OPERATORS = ("<=", ">=", "!=", "~=", "=", "<", ">", "|", "(", ")", ",", ".", "-", "+")
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}


class Lexer:
    """A single pass over the query text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.index = 0
        self.line = 1
        self.column = 1

    def tokens(self) -> list[Token]:
        """Return every token, ending with one END token."""
        result: list[Token] = []
        while True:
            self._skip_space_and_comments()
            if self.index >= len(self.text):
                result.append(Token(Kind.END, "", self.line, self.column))
                return result
            result.append(self._next_token())

    def _advance(self, count: int = 1) -> str:
        chunk = self.text[self.index : self.index + count]
        for char in chunk:
            if char == "\n":
                self.line += 1
                self.column = 1
            else:
                self.column += 1
        self.index += count
        return chunk

    def _skip_space_and_comments(self) -> None:
        while self.index < len(self.text):
            char = self.text[self.index]
            if char.isspace():
                self._advance()
            elif self.text.startswith("//", self.index):
                while self.index < len(self.text) and self.text[self.index] != "\n":
                    self._advance()
            else:
                return

    def _next_token(self) -> Token:
        line, column = self.line, self.column
        char = self.text[self.index]

        if self.text.startswith('"""', self.index):
            return Token(Kind.TRIPLE_STRING, self._triple_string(line, column), line, column)
        if char == '"':
            return Token(Kind.STRING, self._plain_string(line, column), line, column)
        if _is_digit(char):
            return self._number(line, column)
        if char.isalpha() or char in "_*":
            return Token(Kind.IDENT, self._word(), line, column)
        for operator in OPERATORS:
            if self.text.startswith(operator, self.index):
                self._advance(len(operator))
                return Token(Kind.OPERATOR, operator, line, column)

        raise XqlError(
            f"unexpected character {char!r}",
            line=line,
            column=column,
            construct=f"character {char!r}",
            hint="XQL comments start with //; strings use double quotes",
        )

    def _plain_string(self, line: int, column: int) -> str:
        self._advance()
        end = self.text.find('"', self.index)
        newline = self.text.find("\n", self.index)
        if end < 0 or (0 <= newline < end):
            raise XqlError(
                "unterminated string",
                line=line,
                column=column,
                construct="string",
                hint='close the string with " on the same line',
            )
        value = self._advance(end - self.index)
        self._advance()
        return value

    def _triple_string(self, line: int, column: int) -> str:
        self._advance(3)
        chars: list[str] = []
        while not self.text.startswith('"""', self.index):
            if self.index >= len(self.text):
                raise XqlError(
                    "unterminated triple-quoted string",
                    line=line,
                    column=column,
                    construct="triple-quoted string",
                    hint='close the string with """',
                )
            char = self._advance()
            if char == "\\" and self.index < len(self.text):
                escaped = self._advance()
                # An unknown escape keeps its backslash, as regular expressions need it.
                chars.append(ESCAPES.get(escaped, "\\" + escaped))
            else:
                chars.append(char)
        self._advance(3)
        return "".join(chars)

    def _number(self, line: int, column: int) -> Token:
        start = self.index
        while self.index < len(self.text) and _is_digit(self.text[self.index]):
            self._advance()
        if (
            self.text.startswith(".", self.index)
            and self.index + 1 < len(self.text)
            and _is_digit(self.text[self.index + 1])
        ):
            self._advance()
            while self.index < len(self.text) and _is_digit(self.text[self.index]):
                self._advance()
            return Token(Kind.NUMBER, self.text[start : self.index], line, column)

        # Digits followed directly by letters form a duration such as `7d` or `3mo`.
        if self.index < len(self.text) and self.text[self.index].isalpha():
            while self.index < len(self.text) and self.text[self.index].isalnum():
                self._advance()
            return Token(Kind.DURATION, self.text[start : self.index], line, column)
        return Token(Kind.NUMBER, self.text[start : self.index], line, column)

    def _word(self) -> str:
        # `*` is kept inside words so that `fields *host*` reads one column pattern.
        start = self.index
        while self.index < len(self.text) and (
            self.text[self.index].isalnum() or self.text[self.index] in "_*"
        ):
            self._advance()
        return self.text[start : self.index]


def tokenize(text: str) -> list[Token]:
    """Split XQL text into tokens; raise XqlError on an unterminated string or stray character."""
    return Lexer(text).tokens()


def _is_digit(char: str) -> bool:
    # str.isdigit() also accepts superscripts and other scripts' digits, which int() rejects.
    return "0" <= char <= "9"
