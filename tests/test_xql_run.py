"""XQL conformance: each stage, operator and function against a small DuckDB dataset."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pytest

from rmmhunt.errors import QueryError
from rmmhunt.schema import ARROW_SCHEMA
from rmmhunt.xql import XqlError, compile_query, run


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2024, 5, day, hour, minute, tzinfo=UTC)


NOW = at(3, 12)

EVENTS = [
    {
        "_time": at(1, 10),
        "event_type": "PROCESS",
        "agent_hostname": "WS-01",
        "agent_os_type": "AGENT_OS_WINDOWS",
        "action_process_image_name": "AnyDesk.exe",
        "action_process_image_command_line": "AnyDesk.exe --silent --install",
        "actor_effective_username": "CORP\\alice",
        "action_process_os_pid": 100,
        "action_remote_ip": "10.1.2.3",
        "action_registry_data": '{"a": {"b": "x"}, "n": 5, "o": {"k": 1}}',
    },
    {
        "_time": at(1, 11, 30),
        "event_type": "PROCESS",
        "agent_hostname": "WS-01",
        "agent_os_type": "AGENT_OS_WINDOWS",
        "action_process_image_name": "splashtop.exe",
        "action_process_image_command_line": "splashtop.exe",
        "actor_effective_username": "CORP\\bob",
        "action_process_os_pid": 200,
        "action_remote_ip": "192.168.1.5",
    },
    {
        "_time": at(2, 9),
        "event_type": "PROCESS",
        "agent_hostname": "WS_02",
        "agent_os_type": "AGENT_OS_WINDOWS",
        "action_process_image_name": "ccmrd.exe",
        "action_process_image_command_line": "ccmrd.exe 50%",
        "action_process_os_pid": 300,
        "action_remote_ip": "10.255.255.255",
    },
    {
        "_time": None,
        "event_type": "NETWORK",
        "agent_hostname": "WS-03",
        "agent_os_type": "AGENT_OS_WINDOWS",
        "action_process_image_name": "screenconnect.exe",
        "action_process_os_pid": 400,
    },
    {
        "_time": at(3, 8),
        "event_type": "PROCESS",
        "agent_hostname": "SRV-01",
        "agent_os_type": "AGENT_OS_LINUX",
        "action_process_image_name": "cmd.exe",
        "actor_effective_username": "root",
        "action_process_os_pid": 500,
        "action_remote_ip": "not-an-ip",
    },
]


@pytest.fixture
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """Return an in-memory DuckDB with the five events above in table xdr_data."""
    database = duckdb.connect()
    events = pa.Table.from_pylist(EVENTS, schema=ARROW_SCHEMA)
    database.register("events", events)
    database.execute("CREATE TABLE xdr_data AS SELECT * FROM events")
    database.unregister("events")
    yield database
    database.close()


def values(connection: duckdb.DuckDBPyConnection, query: str) -> list[tuple[object, ...]]:
    result = run(query, connection, now=NOW)
    return [tuple(row.values()) for row in result.rows]


def pids(connection: duckdb.DuckDBPyConnection, condition: str, config: str = "") -> list[object]:
    """Return the pids of the events that pass a filter, in pid order."""
    query = f"{config}dataset = xdr_data | filter {condition} | fields action_process_os_pid"
    rows = values(connection, query + " | sort asc action_process_os_pid")
    return [row[0] for row in rows]


INSENSITIVE = "config case_sensitive = false | "
SENSITIVE = "config case_sensitive = true | "

FILTER_CASES = [
    # (condition, config, expected pids)
    ('agent_hostname = "WS-01"', "", [100, 200]),
    ('action_process_image_name = "anydesk.exe"', SENSITIVE, []),
    # Without a config stage Cortex ignores case.
    ('action_process_image_name = "anydesk.exe"', "", [100]),
    ('action_process_image_name = "anydesk.exe"', INSENSITIVE, [100]),
    ('agent_hostname != "WS-01"', "", [300, 400, 500]),
    ("action_process_os_pid > 200 and action_process_os_pid <= 400", "", [300, 400]),
    ("action_process_os_pid < 200 or action_process_os_pid >= 500", "", [100, 500]),
    ('not agent_hostname = "WS-01" and action_process_os_pid < 450', "", [300, 400]),
    ('not (agent_hostname = "WS-01" or action_process_os_pid < 450)', "", [500]),
    ('action_process_image_name = "*Desk*"', "", [100]),
    ('action_process_image_name = "*desk*"', SENSITIVE, []),
    ('action_process_image_name = "*desk*"', INSENSITIVE, [100]),
    ('action_process_image_name != "*.exe"', "", []),
    # `_` and `%` are literal characters, not SQL wildcards.
    ('agent_hostname = "WS_0*"', "", [300]),
    ('action_process_image_command_line = "*50%"', "", [300]),
    ('action_process_image_command_line = "*5%"', "", []),
    # A triple-quoted string takes `*` literally.
    ('action_process_image_name = """*.exe"""', "", []),
    ('action_process_image_name in ("cmd.exe", "splash*")', "", [200, 500]),
    ('action_process_image_name in ("CMD.EXE", "SPLASH*")', INSENSITIVE, [200, 500]),
    ('action_process_image_name not in ("cmd.exe", "*desk*")', INSENSITIVE, [200, 300, 400]),
    ("action_process_os_pid in (100, 300)", "", [100, 300]),
    ('action_process_image_command_line contains "--silent"', "", [100]),
    ('action_process_image_command_line contains "SILENT"', INSENSITIVE, [100]),
    ('action_process_image_command_line not contains "exe"', "", []),
    ('action_process_image_name ~= "^(any|splash)"', SENSITIVE, [200]),
    ('action_process_image_name ~= "^(any|splash)"', INSENSITIVE, [100, 200]),
    ('action_remote_ip incidr "10.0.0.0/8"', "", [100, 300]),
    ('action_remote_ip incidr "192.168.1.0/30"', "", []),
    ('action_remote_ip incidr "192.168.1.4/30"', "", [200]),
    # An address that is missing or not an address is in no range and not outside one.
    ('action_remote_ip not incidr "10.0.0.0/8"', "", [200]),
    ("actor_effective_username = null", "", [300, 400]),
    ("actor_effective_username != null", "", [100, 200, 500]),
    ("event_type = ENUM.NETWORK", "", [400]),
    ("agent_os_type = ENUM.agent_os_windows", INSENSITIVE, [100, 200, 300, 400]),
    ('actor_effective_username = "CORP\\alice"', "", [100]),
    ('actor_effective_username = """CORP\\\\bob"""', "", [200]),
]


@pytest.mark.parametrize(("condition", "config", "expected"), FILTER_CASES)
def test_filter_operator(
    connection: duckdb.DuckDBPyConnection, condition: str, config: str, expected: list[int]
) -> None:
    assert pids(connection, condition, config) == expected


ALTER_CASES = [
    # (expression, pid of the event it is evaluated on, expected value)
    ("lowercase(action_process_image_name)", 100, "anydesk.exe"),
    ("uppercase(agent_hostname)", 300, "WS_02"),
    ('concat(agent_hostname, "/", to_string(action_process_os_pid))', 100, "WS-01/100"),
    ('concat(actor_effective_username, "x")', 300, None),
    ("coalesce(actor_effective_username, agent_hostname)", 300, "WS_02"),
    ('if(action_process_os_pid > 150, "high", "low")', 100, "low"),
    ('if(action_process_os_pid > 150, "high")', 100, None),
    ('to_integer("42")', 100, 42),
    ('to_integer("x")', 100, None),
    ('to_number("2.5")', 100, 2.5),
    ("len(action_process_image_name)", 100, 11),
    ('len(split(action_process_image_command_line, " "))', 100, 3),
    ('arrayindex(split(action_process_image_command_line, " "), 0)', 100, "AnyDesk.exe"),
    ('arrayindex(split(action_process_image_command_line, " "), -1)', 100, "--install"),
    ('arrayindex(split(action_process_image_command_line, " "), 7)', 100, None),
    ('json_extract_scalar(action_registry_data, "$.a.b")', 100, "x"),
    ('json_extract_scalar(action_registry_data, "$.n")', 100, "5"),
    ('json_extract_scalar(action_registry_data, "$.o")', 100, None),
    ('json_extract_scalar(action_registry_data, "$.missing")', 100, None),
    ('extract_time(_time, "HOUR")', 200, 11),
    ('extract_time(_time, "MINUTE")', 200, 30),
    # 2024-05-01 was a Wednesday: day 4 when Sunday is 1.
    ('extract_time(_time, "DAYOFWEEK")', 100, 4),
    ('timestamp_diff(current_time(), _time, "HOUR")', 100, 50),
    ('timestamp_diff(_time, current_time(), "HOUR")', 100, -50),
    ('timestamp_diff(current_time(), _time, "DAY")', 100, 2),
    ('trim("  a b  ")', 100, "a b"),
    ('replace(action_process_image_name, ".exe", "")', 200, "splashtop"),
    ('arrayindex(regextract(action_process_image_command_line, "--(\\w+)"), 1)', 100, "install"),
    ("add(action_process_os_pid, 1)", 100, 101),
    ("divide(action_process_os_pid, 8)", 100, 12.5),
]


@pytest.mark.parametrize(("expression", "pid", "expected"), ALTER_CASES)
def test_alter_function(
    connection: duckdb.DuckDBPyConnection, expression: str, pid: int, expected: object
) -> None:
    query = f"filter action_process_os_pid = {pid} | alter result = {expression} | fields result"
    assert values(connection, query) == [(expected,)]


def test_alter_replaces_and_chains(connection: duckdb.DuckDBPyConnection) -> None:
    query = (
        "filter action_process_os_pid = 100"
        ' | alter agent_hostname = lowercase(agent_hostname), host2 = concat(agent_hostname, "!")'
        " | fields agent_hostname, host2"
    )
    assert values(connection, query) == [("ws-01", "ws-01!")]


def test_fields_rename_exclude_and_pattern(connection: duckdb.DuckDBPyConnection) -> None:
    result = run(
        "filter action_process_os_pid = 100 | fields agent_hostname as host, *_pid, _time",
        connection,
        now=NOW,
    )
    assert result.columns == ["host", "action_process_os_pid", "actor_process_os_pid", "_time"]
    assert result.rows == [
        {
            "host": "WS-01",
            "action_process_os_pid": 100,
            "actor_process_os_pid": None,
            "_time": at(1, 10),
        }
    ]

    dropped = run("fields agent_hostname, _time, agent_id | fields - agent_id", connection)
    assert dropped.columns == ["agent_hostname", "_time"]


def test_renamed_column_hides_old_name(connection: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(XqlError) as caught:
        compile_query('fields agent_hostname as host | filter agent_hostname = "x"')
    assert caught.value.construct == "column 'agent_hostname'"
    assert caught.value.column == 40


def test_sort_several_keys_nulls(connection: duckdb.DuckDBPyConnection) -> None:
    # NULL sorts as the smallest value: last when descending, first when ascending.
    pick = "fields _time, action_process_os_pid | sort {} _time | fields action_process_os_pid"
    newest = values(connection, pick.format("desc"))
    assert [row[0] for row in newest] == [500, 300, 200, 100, 400]
    oldest = values(connection, pick.format("asc"))
    assert [row[0] for row in oldest] == [400, 100, 200, 300, 500]

    two_keys = values(
        connection,
        "sort asc agent_hostname, desc action_process_os_pid"
        " | fields agent_hostname, action_process_os_pid",
    )
    assert two_keys == [
        ("SRV-01", 500),
        ("WS-01", 200),
        ("WS-01", 100),
        ("WS-03", 400),
        ("WS_02", 300),
    ]


def test_limit_after_sort_keeps_order(connection: duckdb.DuckDBPyConnection) -> None:
    rows = values(
        connection, "sort desc action_process_os_pid | limit 2 | fields action_process_os_pid"
    )
    assert rows == [(500,), (400,)]


def test_dedup_by_time(connection: duckdb.DuckDBPyConnection) -> None:
    first = values(
        connection,
        'dedup agent_hostname by asc _time | filter agent_hostname = "WS-01"'
        " | fields action_process_os_pid",
    )
    assert first == [(100,)]
    last = values(
        connection,
        'dedup agent_hostname by desc _time | filter agent_hostname = "WS-01"'
        " | fields action_process_os_pid",
    )
    assert last == [(200,)]


def test_dedup_without_by_warns(connection: duckdb.DuckDBPyConnection) -> None:
    result = run("dedup agent_hostname | fields agent_hostname", connection, now=NOW)
    assert sorted(str(row["agent_hostname"]) for row in result.rows) == [
        "SRV-01",
        "WS-01",
        "WS-03",
        "WS_02",
    ]
    assert any("arbitrary" in warning for warning in result.warnings)


def test_comp_aggregates(connection: duckdb.DuckDBPyConnection) -> None:
    query = (
        "filter agent_os_type = ENUM.AGENT_OS_WINDOWS"
        " | comp count() as events, count(actor_effective_username) as users,"
        " count_distinct(action_process_image_name) as images, min(action_process_os_pid),"
        " max(action_process_os_pid) as top, sum(action_process_os_pid) as total,"
        " avg(action_process_os_pid) as mean, values(action_process_image_name) as names,"
        " earliest(action_process_os_pid) as first, latest(action_process_os_pid) as last"
        " by agent_hostname | sort asc agent_hostname"
    )
    result = run(query, connection, now=NOW)
    assert result.columns == [
        "agent_hostname",
        "events",
        "users",
        "images",
        "min_action_process_os_pid",
        "top",
        "total",
        "mean",
        "names",
        "first",
        "last",
    ]
    assert result.rows[0] == {
        "agent_hostname": "WS-01",
        "events": 2,
        "users": 2,
        "images": 2,
        "min_action_process_os_pid": 100,
        "top": 200,
        "total": 300,
        "mean": 150.0,
        "names": ["AnyDesk.exe", "splashtop.exe"],
        "first": 100,
        "last": 200,
    }
    # The event without a time has no earliest or latest value.
    assert result.rows[1]["agent_hostname"] == "WS-03"
    assert result.rows[1]["first"] is None
    assert result.rows[1]["users"] == 0


def test_comp_without_by(connection: duckdb.DuckDBPyConnection) -> None:
    assert values(connection, "comp count() as n") == [(5,)]


def test_replacenull(connection: duckdb.DuckDBPyConnection) -> None:
    rows = values(
        connection,
        'replacenull actor_effective_username = "N/A" | filter actor_effective_username = "N/A"'
        " | fields action_process_os_pid | sort asc action_process_os_pid",
    )
    assert rows == [(300,), (400,)]


def test_join_inner_and_left(connection: duckdb.DuckDBPyConnection) -> None:
    inner = (
        "filter event_type = ENUM.PROCESS"
        " | join (filter action_process_os_pid < 250"
        " | fields agent_hostname, action_process_image_name as other) as peer"
        " peer.agent_hostname = agent_hostname"
        " | fields action_process_os_pid, other | sort asc action_process_os_pid, asc other"
    )
    assert values(connection, inner) == [
        (100, "AnyDesk.exe"),
        (100, "splashtop.exe"),
        (200, "AnyDesk.exe"),
        (200, "splashtop.exe"),
    ]

    left = (
        "fields agent_hostname, action_process_os_pid"
        " | join type = left (filter action_process_os_pid = 300"
        " | fields agent_hostname, action_process_image_name) as peer"
        " peer.agent_hostname = agent_hostname"
        " | sort asc action_process_os_pid"
        " | fields action_process_os_pid, action_process_image_name"
    )
    assert values(connection, left) == [
        (100, None),
        (200, None),
        (300, "ccmrd.exe"),
        (400, None),
        (500, None),
    ]


def test_join_conflict_strategy(connection: duckdb.DuckDBPyConnection) -> None:
    base = (
        "filter action_process_os_pid = 100 | fields agent_hostname, action_process_os_pid"
        " | join {option}(filter action_process_os_pid = 200"
        " | fields agent_hostname, action_process_os_pid) as peer"
        " peer.agent_hostname = agent_hostname | fields action_process_os_pid"
    )
    assert values(connection, base.format(option="")) == [(200,)]
    assert values(connection, base.format(option="conflict_strategy = left ")) == [(100,)]


def test_union_subquery(connection: duckdb.DuckDBPyConnection) -> None:
    query = (
        "filter action_process_os_pid = 100 | fields action_process_os_pid"
        " | union (filter action_process_os_pid = 500 | fields agent_hostname)"
        " | sort asc action_process_os_pid"
    )
    result = run(query, connection, now=NOW)
    assert result.columns == ["action_process_os_pid", "agent_hostname"]
    assert [tuple(row.values()) for row in result.rows] == [(None, "SRV-01"), (100, None)]


def test_union_dataset_doubles_rows(connection: duckdb.DuckDBPyConnection) -> None:
    assert values(connection, "union xdr_data | comp count() as n") == [(10,)]


def test_timeframe_relative(connection: duckdb.DuckDBPyConnection) -> None:
    assert pids(connection, "true = true", "config timeframe = 1d | ") == [500]
    assert pids(connection, "true = true", "config timeframe = 36h | ") == [300, 500]
    assert pids(connection, "true = true", "config timeframe = 1w | ") == [100, 200, 300, 500]
    assert pids(connection, "true = true", "config timeframe = 1mo | ") == [100, 200, 300, 500]


def test_timeframe_between(connection: duckdb.DuckDBPyConnection) -> None:
    exact = 'config timeframe between "2024-05-01 12:00:00 +0100" and "2024-05-02 09:00:00" | '
    assert pids(connection, "true = true", exact) == [200, 300]
    relative = 'config timeframe between "begin" and "-1d" | '
    assert pids(connection, "true = true", relative) == [100, 200, 300]


def test_timeframe_excluding_all_warns(connection: duckdb.DuckDBPyConnection) -> None:
    result = run("config timeframe = 1h | limit 5", connection, now=NOW)
    assert result.rows == []
    assert len(result.warnings) == 1
    assert "excludes every event" in result.warnings[0]

    compiled = compile_query("config timeframe = 2h", now=NOW)
    assert compiled.timeframe == (at(3, 10), NOW)


def test_time_values_are_aware_utc(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute("SET TimeZone = 'America/New_York'")
    result = run("filter action_process_os_pid = 100 | fields _time", connection, now=NOW)
    value = result.rows[0]["_time"]
    assert value == at(1, 10)
    assert isinstance(value, datetime)
    assert value.utcoffset() is not None
    assert value.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    hour = run(
        'filter action_process_os_pid = 100 | alter h = extract_time(_time, "HOUR") | fields h',
        connection,
    )
    assert hour.rows == [{"h": 10}]


COMPILE_ERRORS = [
    # (query, construct, hint or None)
    ('filter agent_hostnam = "x"', "column 'agent_hostnam'", "did you mean 'agent_hostname'?"),
    ("dataset = endpoints", "dataset 'endpoints'", "only xdr_data is available offline"),
    ("alter x = lowercas(agent_id)", "function 'lowercas'", "did you mean 'lowercase'?"),
    ("alter x = arraymap(agent_id)", "function 'arraymap'", None),
    ("alter x = split(agent_id)", "function 'split'", None),
    ('filter action_remote_ip incidr "fe80::/10"', "incidr IPv6", None),
    ('filter action_remote_ip incidr "10.0.0.0/33"', "incidr", None),
    ("filter agent_id", "filter", None),
    ("limit 1 | config case_sensitive = true", "config", None),
    ("filter agent_id = 1 | dataset = xdr_data", "dataset", None),
    ('alter t = extract_time(agent_id, "HOUR")', "extract_time", None),
    ('alter t = extract_time(_time, "FORTNIGHT")', "extract_time", None),
    ("fields agent_id | comp earliest(agent_id)", "aggregate 'earliest'", None),
    ("comp sum(agent_id)", "aggregate 'sum'", None),
    ("join (fields agent_id) as r q.agent_id = agent_id", "qualifier 'q'", None),
    ("fields agent_id, agent_id", "column 'agent_id'", None),
    ('config timeframe between "now" and "-1d"', "config timeframe", None),
    ('config timeframe between "2024/05/01" and "now"', "config timeframe", None),
    ("config timeframe = 3q", "config timeframe", None),
]


@pytest.mark.parametrize(("text", "construct", "hint"), COMPILE_ERRORS)
def test_compile_error(text: str, construct: str, hint: str | None) -> None:
    with pytest.raises(XqlError) as caught:
        compile_query(text, now=NOW)
    assert caught.value.construct == construct
    if hint is not None:
        assert caught.value.hint == hint


def test_unknown_column_position() -> None:
    with pytest.raises(XqlError) as caught:
        compile_query('dataset = xdr_data\n| filter agent_id = "a"\n    and agent_hostnam = "x"')
    assert (caught.value.line, caught.value.column) == (3, 9)


def test_missing_table_is_query_error(connection: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(QueryError, match="DuckDB failed"):
        run("limit 1", connection, table="no_such_table")


def test_unknown_dialect() -> None:
    with pytest.raises(XqlError, match="unknown SQL dialect"):
        compile_query("limit 1", dialect="oracle")
