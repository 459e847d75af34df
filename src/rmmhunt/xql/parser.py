"""Parse XQL text into a Query of stages.

Stage syntax follows the Cortex XQL reference pages for each stage (Cortex XDR 3.x and
Cortex XSIAM documentation, "Stages"). Anything outside the supported subset raises XqlError
with its line, its column and the construct's name; nothing is skipped or approximated.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable

from rmmhunt.xql.errors import XqlError
from rmmhunt.xql.expressions import ExpressionParser, TokenStream, position
from rmmhunt.xql.lexer import Kind, Token, tokenize
from rmmhunt.xql.nodes import (
    Aggregate,
    AlterStage,
    Assignment,
    Column,
    CompStage,
    ConfigCaseSensitive,
    ConfigTimeframe,
    DatasetStage,
    DedupStage,
    FieldItem,
    FieldsStage,
    FilterStage,
    JoinStage,
    LimitStage,
    Query,
    ReplaceNullStage,
    SortKey,
    SortStage,
    Stage,
    StringLit,
    UnionStage,
)

SUPPORTED_STAGES = (
    "config",
    "dataset",
    "filter",
    "fields",
    "alter",
    "comp",
    "dedup",
    "sort",
    "limit",
    "join",
    "union",
    "replacenull",
)

# Cortex stages and sources that exist but are outside this subset.
KNOWN_UNSUPPORTED_STAGES = frozenset(
    {
        "arrayexpand",
        "bin",
        "call",
        "cold_dataset",
        "datamodel",
        "getrole",
        "iploc",
        "preset",
        "tag",
        "target",
        "top",
        "transaction",
        "view",
        "window",
        "windowcomp",
        "search",
    }
)

AGGREGATES = (
    "count",
    "count_distinct",
    "min",
    "max",
    "sum",
    "avg",
    "values",
    "earliest",
    "latest",
)

JOIN_TYPES = ("inner", "left", "right")
# The largest LIMIT that DuckDB accepts: a signed 64-bit integer.
MAX_LIMIT = 2**63 - 1
CONFLICT_STRATEGIES = ("left", "right")


def did_you_mean(word: str, candidates: tuple[str, ...] | list[str]) -> str:
    """Return a "did you mean" hint for a misspelt name, or an empty string."""
    matches = difflib.get_close_matches(word.lower(), list(candidates), n=1, cutoff=0.6)
    return f"did you mean {matches[0]!r}?" if matches else ""


class Parser:
    """Recursive-descent parser over the tokens of one query text."""

    def __init__(self, text: str) -> None:
        self.stream = TokenStream(tokenize(text))
        self.expressions = ExpressionParser(self.stream)
        self.stage_parsers: dict[str, Callable[[Token], Stage]] = {
            "config": self._config,
            "dataset": self._dataset,
            "filter": self._filter,
            "fields": self._fields,
            "alter": self._alter,
            "comp": self._comp,
            "dedup": self._dedup,
            "sort": self._sort,
            "limit": self._limit,
            "join": self._join,
            "union": self._union,
            "replacenull": self._replacenull,
        }

    def parse_query(self, nested: bool = False) -> Query:
        """Parse stages separated by `|` up to the end, or up to `)` when `nested`."""
        stream = self.stream
        if stream.current.kind is Kind.END or (nested and stream.current.is_op(")")):
            raise stream.error("empty query", "query", hint="start with 'dataset = xdr_data'")

        stages = [self._stage()]
        while stream.current.is_op("|"):
            stream.advance()
            stages.append(self._stage())

        end = stream.current
        done = end.is_op(")") if nested else end.kind is Kind.END
        if not done:
            found = stream.describe(end)
            raise stream.error(
                f"unexpected {found} after a stage", f"token {found}", hint="separate stages with |"
            )
        return Query(tuple(stages))

    def _stage(self) -> Stage:
        token = self.stream.current
        if token.kind is not Kind.IDENT:
            found = self.stream.describe(token)
            raise self.stream.error(f"expected a stage name but found {found}", f"token {found}")

        name = token.text.lower()
        parse_stage = self.stage_parsers.get(name)
        if parse_stage is not None:
            self.stream.advance()
            return parse_stage(token)

        if name in KNOWN_UNSUPPORTED_STAGES:
            raise self.stream.error(
                f"unsupported stage {token.text!r}",
                f"stage {token.text!r}",
                hint="rmmhunt runs a subset of XQL; see docs/xql.md",
            )
        raise self.stream.error(
            f"unknown stage {token.text!r}",
            f"stage {token.text!r}",
            hint=did_you_mean(name, SUPPORTED_STAGES) or "see docs/xql.md for the stages",
        )

    def _config(self, keyword: Token) -> Stage:
        stream = self.stream
        option = stream.current
        if option.is_word("case_sensitive"):
            stream.advance()
            stream.expect_op("=")
            value = stream.expect_word("true", "false")
            return ConfigCaseSensitive(value.text.lower() == "true", pos=position(keyword))
        if option.is_word("timeframe"):
            stream.advance()
            return self._timeframe(keyword)
        found = stream.describe(option)
        raise stream.error(
            f"unsupported config option {found}",
            f"config {found}",
            hint=did_you_mean(option.text, ["case_sensitive", "timeframe"])
            or "supported: case_sensitive, timeframe",
        )

    def _timeframe(self, keyword: Token) -> Stage:
        stream = self.stream
        if stream.current.is_op("="):
            stream.advance()
            token = stream.current
            if token.kind is not Kind.DURATION:
                found = stream.describe(token)
                raise stream.error(
                    f"expected a duration such as 7d but found {found}", "config timeframe"
                )
            stream.advance()
            return ConfigTimeframe(duration=token.text, pos=position(keyword))

        stream.expect_word("between")
        start = self._plain_string("a start time")
        stream.expect_word("and")
        end = self._plain_string("an end time")
        return ConfigTimeframe(start=start, end=end, pos=position(keyword))

    def _plain_string(self, description: str) -> str:
        token = self.stream.current
        if token.kind is not Kind.STRING:
            found = self.stream.describe(token)
            raise self.stream.error(
                f"expected {description} in double quotes but found {found}", "string"
            )
        self.stream.advance()
        return token.text

    def _dataset(self, keyword: Token) -> Stage:
        stream = self.stream
        if stream.current.is_word("in"):
            raise stream.error(
                "'dataset in (...)' is not supported", "dataset in", hint="use a union stage"
            )
        stream.expect_op("=")
        name = stream.expect_name("a dataset name")
        return DatasetStage(name.text, pos=position(keyword))

    def _filter(self, keyword: Token) -> Stage:
        return FilterStage(self.expressions.parse(), pos=position(keyword))

    def _fields(self, keyword: Token) -> Stage:
        stream = self.stream
        exclude = False
        if stream.current.is_op("-"):
            stream.advance()
            exclude = True

        items = [self._field_item(exclude)]
        while stream.current.is_op(","):
            stream.advance()
            items.append(self._field_item(exclude))
        return FieldsStage(tuple(items), exclude=exclude, pos=position(keyword))

    def _field_item(self, exclude: bool) -> FieldItem:
        stream = self.stream
        token = stream.current
        if token.kind is not Kind.IDENT:
            found = stream.describe(token)
            raise stream.error(f"expected a column but found {found}", f"token {found}")
        stream.advance()

        alias = None
        if stream.current.is_word("as"):
            as_token = stream.advance()
            if exclude or "*" in token.text:
                raise stream.error(
                    "'as' is not allowed on a dropped column or a pattern", "fields as", as_token
                )
            alias = stream.expect_name("a new column name").text
        return FieldItem(token.text, alias, pos=position(token))

    def _alter(self, keyword: Token) -> Stage:
        stream = self.stream
        assignments = [self._assignment()]
        while stream.current.is_op(","):
            stream.advance()
            assignments.append(self._assignment())
        return AlterStage(tuple(assignments), pos=position(keyword))

    def _assignment(self) -> Assignment:
        name = self.stream.expect_name("a column name to assign")
        self.stream.expect_op("=")
        return Assignment(name.text, self.expressions.parse(), pos=position(name))

    def _comp(self, keyword: Token) -> Stage:
        stream = self.stream
        aggregates = [self._aggregate()]
        while stream.current.is_op(","):
            stream.advance()
            aggregates.append(self._aggregate())

        by: list[Column] = []
        if stream.current.is_word("by"):
            stream.advance()
            by.append(self._column())
            while stream.current.is_op(","):
                stream.advance()
                by.append(self._column())
        if stream.current.is_word("addrawdata"):
            raise stream.error("unsupported comp option 'addrawdata'", "comp addrawdata")
        return CompStage(tuple(aggregates), tuple(by), pos=position(keyword))

    def _aggregate(self) -> Aggregate:
        stream = self.stream
        token = stream.expect_name("an aggregate function")
        name = token.text.lower()
        if name not in AGGREGATES:
            raise stream.error(
                f"unsupported aggregate function {token.text!r}",
                f"aggregate {token.text!r}",
                token,
                hint=did_you_mean(name, AGGREGATES) or "supported: " + ", ".join(AGGREGATES),
            )

        stream.expect_op("(")
        arg = None if stream.current.is_op(")") else self._column()
        stream.expect_op(")")
        if arg is None and name != "count":
            raise stream.error(f"{name}() needs a column", f"aggregate {name!r}", token)

        alias = None
        if stream.current.is_word("as"):
            stream.advance()
            alias = stream.expect_name("an alias").text
        return Aggregate(name, arg, alias, pos=position(token))

    def _column(self) -> Column:
        token = self.stream.expect_name("a column")
        return Column(token.text, pos=position(token))

    def _sort_key(self) -> SortKey:
        stream = self.stream
        direction = stream.current
        if not direction.is_word("asc", "desc"):
            found = stream.describe(direction)
            raise stream.error(
                f"expected asc or desc before the sort column but found {found}",
                "sort direction",
                hint="write for example 'sort desc _time'",
            )
        stream.advance()
        return SortKey(self._column(), descending=direction.text.lower() == "desc")

    def _dedup(self, keyword: Token) -> Stage:
        stream = self.stream
        columns = [self._column()]
        while stream.current.is_op(","):
            stream.advance()
            columns.append(self._column())

        order = None
        if stream.current.is_word("by"):
            stream.advance()
            order = self._sort_key()
        return DedupStage(tuple(columns), order, pos=position(keyword))

    def _sort(self, keyword: Token) -> Stage:
        stream = self.stream
        keys = [self._sort_key()]
        while stream.current.is_op(","):
            stream.advance()
            keys.append(self._sort_key())
        return SortStage(tuple(keys), pos=position(keyword))

    def _limit(self, keyword: Token) -> Stage:
        token = self.stream.current
        if token.kind is not Kind.NUMBER or not token.text.isdigit():
            found = self.stream.describe(token)
            raise self.stream.error(f"expected a whole number but found {found}", "limit")
        if int(token.text) > MAX_LIMIT:
            raise self.stream.error(
                f"limit {token.text} is larger than the maximum {MAX_LIMIT}", "limit"
            )
        self.stream.advance()
        return LimitStage(int(token.text), pos=position(keyword))

    def _join(self, keyword: Token) -> Stage:
        stream = self.stream
        options = {"type": "inner", "conflict_strategy": "right"}
        allowed = {"type": JOIN_TYPES, "conflict_strategy": CONFLICT_STRATEGIES}
        while stream.current.is_word("type", "conflict_strategy"):
            option = stream.advance().text.lower()
            stream.expect_op("=")
            value = stream.current
            if not value.is_word(*allowed[option]):
                found = stream.describe(value)
                raise stream.error(
                    f"unsupported join {option} {found}",
                    f"join {option}",
                    hint="supported: " + ", ".join(allowed[option]),
                )
            options[option] = stream.advance().text.lower()

        subquery = self._subquery()
        stream.expect_word("as")
        alias = stream.expect_name("a join alias").text
        condition = self.expressions.parse()
        return JoinStage(
            subquery,
            alias,
            condition,
            join_type=options["type"],
            conflict_strategy=options["conflict_strategy"],
            pos=position(keyword),
        )

    def _subquery(self) -> Query:
        self.stream.expect_op("(")
        query = self.parse_query(nested=True)
        self.stream.expect_op(")")
        return query

    def _union(self, keyword: Token) -> Stage:
        if self.stream.current.is_op("("):
            return UnionStage(subquery=self._subquery(), pos=position(keyword))
        name = self.stream.expect_name("a dataset name or a bracketed subquery")
        return UnionStage(dataset=name.text, pos=position(keyword))

    def _replacenull(self, keyword: Token) -> Stage:
        column = self._column()
        self.stream.expect_op("=")
        token = self.stream.current
        if token.kind not in (Kind.STRING, Kind.TRIPLE_STRING):
            found = self.stream.describe(token)
            raise self.stream.error(f"expected a text string but found {found}", "replacenull")
        self.stream.advance()
        value = StringLit(token.text, triple=token.kind is Kind.TRIPLE_STRING, pos=position(token))
        return ReplaceNullStage(column, value, pos=position(keyword))


def parse(query: str) -> Query:
    """Parse XQL text into a Query.

    Raises:
        XqlError: a QueryError with the line, column and construct of the first problem.
    """
    return Parser(query).parse_query()


__all__ = ["XqlError", "parse"]
