"""Checks that the XQL compiler makes before any input is read: names, numbers, time, types."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rmmhunt.xql import XqlError, compile_query

NOW = datetime(2025, 3, 15, tzinfo=UTC)

RESERVED_NAMES = [
    # (second line of the query, column, construct)
    ("| comp count() as __rmmhunt_order by agent_hostname", 8, "comp ... as"),
    ("| comp count() as __RMMHUNT_x", 8, "comp ... as"),
    ("| fields agent_hostname as __rmmhunt_order, _time", 10, "fields ... as"),
    ("| alter __rmmhunt_order = 1", 9, "alter"),
]


@pytest.mark.parametrize(("second_line", "column", "construct"), RESERVED_NAMES)
def test_reserved_prefix_rejected(second_line: str, column: int, construct: str) -> None:
    with pytest.raises(XqlError, match="reserved") as caught:
        compile_query(f"dataset = xdr_data\n{second_line}", now=NOW)

    assert caught.value.construct == construct
    assert caught.value.line == 2
    assert caught.value.column == column
