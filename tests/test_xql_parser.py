"""XQL parser conformance: round trips through to_xql() and error positions."""

from __future__ import annotations

from pathlib import Path

import pytest

from rmmhunt.errors import QueryError
from rmmhunt.xql import XqlError, extract_xql_block, parse
from rmmhunt.xql.nodes import (
    BoolOp,
    Column,
    Compare,
    EnumLit,
    FilterStage,
    InList,
    Not,
    NumberLit,
    StringLit,
)

ROUND_TRIP_QUERIES = [
    "dataset = xdr_data",
    "config case_sensitive = true | dataset = xdr_data | limit 5",
    "config timeframe = 7d | filter agent_id != null",
    'config timeframe between "2024-05-01 00:00:00 +0200" and "now" | limit 1',
    'config timeframe between "begin" and "-1d" | limit 1',
    'filter a = "x" and b = "y" or not c = "z"',
    'filter a = "x" and (b = "y" or c = "z")',
    "filter (a = 1 or b = 2) and not (c > 3 and d <= 4)",
    "filter a = 1 and (b = 2 and c = 3)",
    'filter name in ("a*", "b", 3, ENUM.PROCESS) and name not in ("c")',
    'filter cmd contains "-x" and cmd not contains "y" and cmd ~= "^a.*$"',
    'filter ip incidr "10.0.0.0/8" and ip not incidr "10.1.0.0/16"',
    'filter p = """a\\tb\\\\c\\"d"""',
    "filter n >= -3 and n < 2.5 and flag = true and x = null",
    'alter x = lowercase(a), y = concat(a, "-", to_string(b)), z = if(a = "q", 1, 2)',
    'alter i = arrayindex(split(cmd, " "), -1), t = extract_time(_time, "HOUR")',
    "fields a, b as c, *host*",
    "fields - a, b",
    "comp count() as n, count_distinct(agent_id), values(x) as v by a, b",
    "dedup agent_id, a by desc _time",
    "dedup agent_id",
    "sort desc _time, asc agent_hostname",
    "join type = left (dataset = xdr_data | fields agent_id, x) as r r.agent_id = agent_id",
    "join conflict_strategy = left (filter a = 1) as r r.a = a and r.b = b",
    "union (dataset = xdr_data | filter a = 2)",
    "union xdr_data",
    'replacenull a = "N/A"',
]


@pytest.mark.parametrize("text", ROUND_TRIP_QUERIES)
def test_round_trip_gives_same_tree(text: str) -> None:
    query = parse(text)
    rendered = query.to_xql()
    assert parse(rendered) == query, rendered


def test_hunt_query_round_trips(fixtures: Path) -> None:
    query = parse((fixtures / "xql" / "rmm_execution.xql").read_text())
    assert parse(query.to_xql()) == query


def test_precedence_and_binds_tighter_than_or() -> None:
    stage = parse("filter a = 1 or b = 2 and not c = 3").stages[0]
    assert isinstance(stage, FilterStage)
    expected = BoolOp(
        "or",
        Compare("=", Column("a"), NumberLit(1)),
        BoolOp(
            "and",
            Compare("=", Column("b"), NumberLit(2)),
            Not(Compare("=", Column("c"), NumberLit(3))),
        ),
    )
    assert stage.condition == expected


def test_strings_single_and_triple_quoted() -> None:
    stage = parse('filter a = "C:\\Windows\\" and b = """x\\ny"""').stages[0]
    assert isinstance(stage, FilterStage)
    assert isinstance(stage.condition, BoolOp)
    assert stage.condition.left == Compare("=", Column("a"), StringLit("C:\\Windows\\"))
    assert stage.condition.right == Compare("=", Column("b"), StringLit("x\ny", triple=True))


def test_comments_and_enum_constants() -> None:
    query = parse("// heading\nfilter t = ENUM.PROCESS // trailing\n| filter x in (1, 2)")
    first, second = query.stages
    assert isinstance(first, FilterStage)
    assert first.condition == Compare("=", Column("t"), EnumLit("PROCESS"))
    assert isinstance(second, FilterStage)
    assert second.condition == InList(Column("x"), (NumberLit(1), NumberLit(2)))


ERROR_CASES = [
    # (query, line, column, construct)
    ("dataset = xdr_data\n| filter a = 1\n| bin _time span = 1h", 3, 3, "stage 'bin'"),
    ("dataset = xdr_data\n| filtr a = 1", 2, 3, "stage 'filtr'"),
    ("dataset = xdr_data | windowcomp count() by a", 1, 22, "stage 'windowcomp'"),
    ('filter a = "open', 1, 12, "string"),
    ('filter a = """open', 1, 12, "triple-quoted string"),
    ("filter a = 1 b", 1, 14, "token 'b'"),
    ("filter a = ", 1, 12, "token end of query"),
    ("filter a ; 1", 1, 10, "character ';'"),
    ("config max_runtime_minutes = 5", 1, 8, "config 'max_runtime_minutes'"),
    ("config timeframe = 7", 1, 20, "config timeframe"),
    ("comp approx_count(a)", 1, 6, "aggregate 'approx_count'"),
    ("comp sum() as s", 1, 6, "aggregate 'sum'"),
    ("comp count() addrawdata = true", 1, 14, "comp addrawdata"),
    ("sort _time desc", 1, 6, "sort direction"),
    ("limit ten", 1, 7, "limit"),
    ("join type = full (dataset = xdr_data) as r r.a = a", 1, 13, "join type"),
    ("filter a in (dataset = xdr_data)", 1, 14, "in-subquery"),
    ("dataset in (a, b)", 1, 9, "dataset in"),
    ("fields *a* as b", 1, 12, "fields as"),
    ("filter a = 1 |", 1, 15, "token end of query"),
]


@pytest.mark.parametrize(("text", "line", "column", "construct"), ERROR_CASES)
def test_error_position_and_construct(text: str, line: int, column: int, construct: str) -> None:
    with pytest.raises(XqlError) as caught:
        parse(text)
    assert caught.value.line == line
    assert caught.value.column == column
    assert caught.value.construct == construct


def test_error_message_names_position() -> None:
    with pytest.raises(XqlError) as caught:
        parse("dataset = xdr_data\n| filter a = 1\n| bin _time span = 1h")
    assert caught.value.message == "unsupported stage 'bin' at line 3, column 3"
    assert isinstance(caught.value, QueryError)


def test_misspelt_stage_gets_suggestion() -> None:
    with pytest.raises(XqlError) as caught:
        parse("dataset = xdr_data | sotr desc _time")
    assert caught.value.hint == "did you mean 'sort'?"


def test_extract_block_from_markdown() -> None:
    document = "# Hunt\n\ntext\n\n```xql\ndataset = xdr_data\n| limit 1\n```\n\n```sql\nx\n```\n"
    assert extract_xql_block(document) == "dataset = xdr_data\n| limit 1\n"


def test_extract_block_missing_or_repeated() -> None:
    with pytest.raises(QueryError, match="no ```xql code block"):
        extract_xql_block("# Hunt\n\n```sql\nselect 1\n```\n")
    with pytest.raises(QueryError, match="2 ```xql code blocks"):
        extract_xql_block("```xql\na\n```\n\n```xql\nb\n```\n")
