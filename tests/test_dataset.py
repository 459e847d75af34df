"""The DuckDB dataset: duplicate merging, provenance and event kinds."""

from __future__ import annotations

from datetime import UTC, datetime

from rmmhunt.dataset import Dataset
from rmmhunt.schema import Row


def _row(event_id: str | None, microsecond: int, source: str, **extra: object) -> Row:
    row: Row = {
        "_time": datetime(2024, 4, 15, 11, 9, 27, microsecond, tzinfo=UTC),
        "event_id": event_id,
        "source_file": source,
        "source_record": "7",
        "source_format": "test",
    }
    row.update(extra)
    return row


def test_same_event_merged_with_sources() -> None:
    dataset = Dataset()
    dataset.add(_row("ws01/Security/7", 123456, "a.evtx"))
    dataset.add(_row("ws01/Security/7", 123000, "b.json"))

    dataset.finalise()

    rows = dataset.query("SELECT event_id, sources FROM xdr_data")
    assert len(rows) == 1
    assert [s["file"] for s in rows[0]["sources"]] == ["a.evtx", "b.json"]
    assert dataset.duplicates_removed == 1


def test_different_millisecond_not_merged() -> None:
    dataset = Dataset()
    dataset.add(_row("ws01/Security/7", 123000, "a.evtx"))
    dataset.add(_row("ws01/Security/7", 124000, "b.json"))

    dataset.finalise()

    assert dataset.count_rows() == 2


def test_rows_without_event_id_never_merge() -> None:
    dataset = Dataset()
    dataset.add(_row(None, 1, "a"))
    dataset.add(_row(None, 1, "a"))

    dataset.finalise()

    assert dataset.count_rows() == 2


def test_no_dedup_keeps_copies() -> None:
    dataset = Dataset()
    dataset.add(_row("x", 1, "a"))
    dataset.add(_row("x", 1, "b"))

    dataset.finalise(dedup=False)

    assert dataset.count_rows() == 2
    assert dataset.duplicates_removed == 0


def test_events_by_kind_counts() -> None:
    dataset = Dataset()
    dataset.add(_row("1", 1, "a", event_type="PROCESS", event_sub_type="PROCESS_START"))
    dataset.add(_row("2", 1, "a", event_type="EVENT_LOG", action_evtlog_event_id=7045))
    dataset.add(_row("3", 1, "a", event_type="NETWORK", event_sub_type="DNS_QUERY"))

    dataset.finalise()
    kinds = dataset.count_events_by_kind()

    assert kinds["process_start"] == 1
    assert kinds["service_install"] == 1
    assert kinds["dns_query"] == 1
    assert kinds["network"] == 0


def test_empty_dataset_has_table() -> None:
    dataset = Dataset()

    dataset.finalise()

    assert dataset.count_rows() == 0


def test_conflicting_copies_kept_apart() -> None:
    dataset = Dataset()
    dataset.add(_row("E1", 0, "a.ndjson", action_process_image_name="notepad.exe"))
    dataset.add(_row("E1", 0, "b.ndjson", action_process_image_name="AnyDesk.exe"))

    dataset.finalise()

    names = dataset.query("SELECT action_process_image_name AS name FROM xdr_data ORDER BY name")
    assert [row["name"] for row in names] == ["AnyDesk.exe", "notepad.exe"]
    assert dataset.duplicates_removed == 0
    assert dataset.conflicting_events == 1
    [conflict] = dataset.duplicate_conflicts
    assert conflict.copies == ["a.ndjson:7", "b.ndjson:7"]
    assert conflict.columns == ["action_process_image_name"]
    assert "a.ndjson:7 and b.ndjson:7" in conflict.describe()


def test_copies_differing_in_case_merge() -> None:
    dataset = Dataset()
    dataset.add(_row("E1", 0, "a.evtx", action_process_image_path=r"C:\Windows\cmd.exe"))
    dataset.add(_row("E1", 0, "b.json", action_process_image_path=r"c:\windows\CMD.EXE"))

    dataset.finalise()

    assert dataset.count_rows() == 1
    assert dataset.conflicting_events == 0


def test_copy_missing_a_field_conflicts() -> None:
    dataset = Dataset()
    dataset.add(_row("E1", 0, "a.ndjson", action_process_image_command_line=None))
    dataset.add(_row("E1", 0, "b.ndjson", action_process_image_command_line="x.exe --silent"))

    dataset.finalise()

    assert dataset.count_rows() == 2
    assert dataset.duplicate_conflicts[0].columns == ["action_process_image_command_line"]


def test_matching_copies_merge_beside_conflict() -> None:
    dataset = Dataset()
    for source in ("a.evtx", "b.evtx"):
        dataset.add(_row("E1", 0, source, action_process_username="CORP\\carol"))
    dataset.add(_row("E1", 0, "c.ndjson", action_process_username="CORP\\mallory"))

    dataset.finalise()

    rows = dataset.query("SELECT len(sources) AS copies FROM xdr_data ORDER BY copies")
    assert [row["copies"] for row in rows] == [1, 2]
    assert dataset.duplicates_removed == 1
    assert dataset.duplicate_conflicts[0].copies == ["a.evtx:7", "b.evtx:7", "c.ndjson:7"]


def test_no_dedup_reports_no_conflicts() -> None:
    dataset = Dataset()
    dataset.add(_row("E1", 0, "a", action_process_image_name="notepad.exe"))
    dataset.add(_row("E1", 0, "b", action_process_image_name="AnyDesk.exe"))

    dataset.finalise(dedup=False)

    assert dataset.conflicting_events == 0


def test_events_by_kind_add_up() -> None:
    dataset = Dataset()
    dataset.add(_row("1", 1, "a", event_type="PROCESS", event_sub_type="PROCESS_START"))
    dataset.add(_row("2", 1, "a", event_type="EVENT_LOG", action_evtlog_event_id=4624))
    dataset.add(_row("3", 1, "a", event_type="PROCESS", event_sub_type="PROCESS_ACCESS"))
    dataset.add(_row("4", 1, "a"))

    dataset.finalise()
    kinds = dataset.count_events_by_kind()

    assert kinds["other"] == 3
    assert sum(kinds.values()) == dataset.count_rows()
