"""The RMM execution hunt query runs verbatim and returns the expected alerts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from rmmhunt.schema import ARROW_SCHEMA, SEED_FIELDS
from rmmhunt.xql import compile_query, run


def process_start(
    pid: int, image: str, time: datetime | None, **changes: object
) -> dict[str, object]:
    event: dict[str, object] = {
        "_time": time,
        "_product": "XDR agent",
        "event_id": f"event-{pid}",
        "event_type": "PROCESS",
        "event_sub_type": "PROCESS_START",
        "agent_hostname": f"host-{pid}",
        "agent_id": f"agent-{pid}",
        "agent_os_type": "AGENT_OS_WINDOWS",
        "action_process_image_name": image,
        "action_process_image_path": f"C:\\Tools\\{image}",
        "action_process_os_pid": pid,
    }
    event.update(changes)
    return event


def at(day: int) -> datetime:
    return datetime(2024, 6, day, 12, tzinfo=UTC)


EVENTS = [
    process_start(1, "AnyDesk.exe", at(1)),
    process_start(2, "SCREENCONNECT.EXE", at(3)),
    process_start(3, "client.screenconnect.com", None),
    process_start(4, "optitune.exe", at(2)),
    process_start(5, "SyncroRMM.exe", at(5)),
    process_start(6, "splashtop.exe", at(4)),
    process_start(7, "SplashtopStreamer.exe", at(6)),
    # Each of these differs from a match in one way, so none is returned.
    process_start(8, "ccmrd.exe", at(7)),
    process_start(9, "anydesk.exe.bak", at(7)),
    process_start(10, "anydesk.exe", at(7), agent_os_type="AGENT_OS_LINUX"),
    process_start(11, "anydesk.exe", at(7), event_sub_type="PROCESS_END"),
    process_start(12, "anydesk.exe", at(7), event_type="NETWORK"),
    process_start(13, "cmd.exe", at(7), actor_process_image_name="anydesk.exe"),
]


@pytest.fixture
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    database = duckdb.connect()
    database.register("events", pa.Table.from_pylist(EVENTS, schema=ARROW_SCHEMA))
    database.execute("CREATE TABLE xdr_data AS SELECT * FROM events")
    database.unregister("events")
    yield database
    database.close()


def test_hunt_query_returns_matches_newest_first(
    fixtures: Path, connection: duckdb.DuckDBPyConnection
) -> None:
    query = (fixtures / "xql" / "rmm_execution.xql").read_text()
    result = run(query, connection)

    assert result.columns == list(SEED_FIELDS)
    assert [row["event_id"] for row in result.rows] == [
        "event-7",
        "event-5",
        "event-6",
        "event-2",
        "event-4",
        "event-1",
        "event-3",
    ]
    assert result.rows[0]["_time"] == at(6)
    assert result.rows[-1]["_time"] is None
    assert result.warnings == []


def test_hunt_query_fields_are_fixed(fixtures: Path) -> None:
    compiled = compile_query((fixtures / "xql" / "rmm_execution.xql").read_text())
    assert compiled.fields == list(SEED_FIELDS)
    assert compiled.timeframe is None
