"""Constructs outside the XQL subset raise an error with their line, column and name.

Each query puts the construct on line 2, after `dataset = xdr_data`, so that a wrong line count
shows up as well as a wrong column.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rmmhunt.xql import XqlError, compile_query

NOW = datetime(2025, 3, 15, tzinfo=UTC)

OUTSIDE_SUBSET = [
    # (second line of the query, column, construct)
    ("| bin _time span = 1h", 3, "stage 'bin'"),
    ("| windowcomp count() by agent_id", 3, "stage 'windowcomp'"),
    ("| top agent_id", 3, "stage 'top'"),
    ("| arrayexpand x", 3, "stage 'arrayexpand'"),
    ("| target type = dataset t", 3, "stage 'target'"),
    ("| view graph type = pie", 3, "stage 'view'"),
    ("| call my_query", 3, "stage 'call'"),
    ("| iploc action_remote_ip", 3, "stage 'iploc'"),
    ("| transaction agent_id span = 1h", 3, "stage 'transaction'"),
    ("| window count()", 3, "stage 'window'"),
    ('| tag add "x"', 3, "stage 'tag'"),
    ("| getrole x", 3, "stage 'getrole'"),
    ('| search "x"', 3, "stage 'search'"),
    ("| preset = network_story", 3, "stage 'preset'"),
    ("| datamodel dataset = x", 3, "stage 'datamodel'"),
    ("| cold_dataset = x", 3, "stage 'cold_dataset'"),
    ("| comp count() as n by agent_id addrawdata = true", 33, "comp addrawdata"),
    ("| comp approx_count(agent_id)", 8, "aggregate 'approx_count'"),
    ("| config max_runtime_minutes = 5", 10, "config 'max_runtime_minutes'"),
    ('| alter x = arraymap(agent_id, "@element")', 13, "function 'arraymap'"),
    ('| alter x = format_timestamp("%Y", _time)', 13, "function 'format_timestamp'"),
    ('| alter y = incidr(agent_id, "1.0.0.0/8")', 13, "function 'incidr'"),
    (
        "| join conflict_strategy = both (dataset = xdr_data) as r r.agent_id = agent_id",
        28,
        "join conflict_strategy",
    ),
    ("| join type = full (dataset = xdr_data) as r r.agent_id = agent_id", 15, "join type"),
    ('| filter action_remote_ip incidr "fe80::/10"', 34, "incidr IPv6"),
    ('| filter action_remote_ip incidr "10.0.0.0/8, 192.168.0.0/16"', 34, "incidr"),
    ("| filter agent_id in (dataset = xdr_data | fields agent_id)", 23, "in-subquery"),
    ("| filter event_type = NETWORK", 23, "column 'NETWORK'"),
    ("| sort agent_id", 8, "sort direction"),
    ("| filter agent_id = `x`", 21, "character '`'"),
    ("| filter agent_id = 'x'", 21, 'character "\'"'),
]


@pytest.mark.parametrize(
    ("second_line", "column", "construct"),
    OUTSIDE_SUBSET,
    ids=[case[2] for case in OUTSIDE_SUBSET],
)
def test_outside_subset_error_position(second_line: str, column: int, construct: str) -> None:
    with pytest.raises(XqlError) as caught:
        compile_query(f"dataset = xdr_data\n{second_line}", now=NOW)

    assert caught.value.construct == construct
    assert caught.value.line == 2
    assert caught.value.column == column
    assert caught.value.message.endswith(f"at line 2, column {column}")


FIRST_LINE_ONLY = [
    # (query, column, construct): constructs that Cortex allows only at the start of a query.
    ("dataset in (xdr_data, endpoints)", 9, "dataset in"),
    ("config timeframe = 30s", 1, "config timeframe"),
    ("config max_runtime_minutes = 5", 8, "config 'max_runtime_minutes'"),
    ("dataset = endpoints", 1, "dataset 'endpoints'"),
]


@pytest.mark.parametrize(
    ("query", "column", "construct"), FIRST_LINE_ONLY, ids=[case[2] for case in FIRST_LINE_ONLY]
)
def test_first_line_error_position(query: str, column: int, construct: str) -> None:
    with pytest.raises(XqlError) as caught:
        compile_query(query, now=NOW)

    assert caught.value.construct == construct
    assert caught.value.line == 1
    assert caught.value.column == column


def test_error_located_in_file() -> None:
    with pytest.raises(XqlError) as caught:
        compile_query("dataset = xdr_data\n| top agent_id", now=NOW)

    located = caught.value.in_file("hunts/site.md", first_line=20)

    assert str(located).startswith("hunts/site.md:21:3: unsupported stage 'top'")
    assert located.construct == "stage 'top'"
    assert located.hint == caught.value.hint
