"""One golden process start, written in every supported shape, normalises to the same row.

The event is a Sysmon 1 record of `AnyDesk.exe --install` started by explorer.exe on WS01 at
2024-04-15 11:09:27.123 UTC. Each fixture writes that event as its source writes it, so some
values differ by nature, and the comparison goes through the forms that matching uses:

- host names are compared case-folded and without their domain, as duplicate merging does,
  because Defender writes the FQDN in lower case and CrowdStrike the short name;
- paths are compared in `winpath` matching form without the volume, because CrowdStrike writes
  `\\Device\\HarddiskVolume3\\...` where the others write `C:\\...`;
- user names are compared case-folded without the domain, because CrowdStrike's `UserName`
  carries no domain and Defender writes the domain in lower case.

Every shape is detected from its content by the full reader list, as a hunt would detect it.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rmmhunt.cli import main
from rmmhunt.inputs import detect_reader
from rmmhunt.normalise import short_hostname
from rmmhunt.pipeline import default_readers, load_inputs
from rmmhunt.readers.base import HEAD_SIZE, InputFile, ReadOptions, ReadStats
from rmmhunt.schema import Row
from rmmhunt.winpath import normalise_path, strip_volume

REPOSITORY = Path(__file__).resolve().parents[1]
FIXTURES = REPOSITORY / "tests" / "fixtures"
EVENT_NAMESPACE = "{http://schemas.microsoft.com/win/2004/08/events/event}"

EXPECTED: dict[str, object] = {
    "_time": datetime(2024, 4, 15, 11, 9, 27, 123000, tzinfo=UTC),
    "host": "ws01",
    "agent_os_type": "AGENT_OS_WINDOWS",
    "event_type": "PROCESS",
    "event_sub_type": "PROCESS_START",
    "action_process_image_name": "AnyDesk.exe",
    "action_process_image_path": r"\users\bob\downloads\anydesk.exe",
    "action_process_image_command_line": (
        r"C:\Users\bob\Downloads\AnyDesk.exe --install C:\ProgramData\AnyDesk --silent"
    ),
    "action_process_image_name_derived": False,
    "action_process_os_pid": 6120,
    "action_process_image_sha256": (
        "4b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c"
    ),
    "action_process_username": "bob",
    "actor_process_image_name": "explorer.exe",
    "actor_process_image_path": r"\windows\explorer.exe",
    "actor_process_command_line": r"C:\Windows\Explorer.EXE",
    "actor_process_os_pid": 4312,
    "actor_effective_username": "bob",
}


@dataclass(frozen=True)
class Shape:
    """One golden fixture, the reader that must detect it, and the field map it needs."""

    path: str
    format_name: str
    field_map: str | None = None


SHAPES = [
    Shape("winxml/golden_sysmon1_wevtutil.xml", "windows-xml"),
    Shape("winxml/golden_sysmon1_eventviewer.xml", "windows-xml"),
    Shape("winxml/golden_sysmon1_unnamed_data.xml", "windows-xml"),
    Shape("evtxjson/golden_sysmon1_evtx_dump.json", "evtx-json"),
    Shape("evtxjson/golden_sysmon1_evtx_dump.jsonl", "evtx-json"),
    Shape("evtxjson/golden_sysmon1_array.json", "evtx-json"),
    Shape("evtxjson/golden_sysmon1_getwinevent_ps51.json", "get-winevent-json"),
    Shape("evtxjson/golden_sysmon1_getwinevent_ps7.json", "get-winevent-json"),
    Shape("flatjson/golden_sysmon1_nxlog.jsonl", "flat-json"),
    Shape("flatjson/golden_sysmon1_nxlog_array.json", "flat-json"),
    Shape("flatjson/golden_sysmon1_otrf.jsonl", "flat-json"),
    Shape("ecs/golden_sysmon1_winlogbeat.ndjson", "ecs-json"),
    Shape("ecs/golden_sysmon1_bulk_source.ndjson", "ecs-json"),
    Shape("ecs/golden_sysmon1_search_hits.json", "ecs-json"),
    Shape("splunk/golden_sysmon1_classic_results.json", "splunk-json"),
    Shape("splunk/golden_sysmon1_xml_export.json", "splunk-json"),
    Shape("golden/elastic_defend_process.ndjson", "ecs-json"),
    Shape("golden/defender_process_events.csv", "defender"),
    Shape("golden/defender_advanced_hunting.json", "defender"),
    Shape("golden/defender_api_response.json", "defender"),
    Shape("golden/defender_graph_response.json", "defender"),
    Shape("golden/defender_event_hub.json", "defender"),
    Shape("golden/crowdstrike_fdr.ndjson", "crowdstrike"),
    Shape("golden/crowdstrike_event_stream.json", "crowdstrike"),
    Shape("golden/ocsf_process_activity.json", "ocsf"),
    Shape("golden/xdr_rows.ndjson", "xdr-ndjson"),
    Shape("golden/xdr_rows.json", "xdr-json"),
    Shape("golden/xdr_rows.csv", "xdr-csv"),
    Shape("golden/xdr_query_results_reply.json", "xdr-api"),
    Shape("golden/fieldmap_process.csv", "fieldmap", "golden/fieldmap_process_csv.yaml"),
    Shape("golden/fieldmap_process.ndjson", "fieldmap", "golden/fieldmap_process_json.yaml"),
]


def comparable(row: Row) -> dict[str, object]:
    """Project a row onto the golden columns, in the forms that matching compares."""
    projected: dict[str, object] = {}
    for column in EXPECTED:
        value = row.get("agent_hostname" if column == "host" else column)
        if column == "host":
            value = short_hostname(value)
        elif column.endswith("_path") and isinstance(value, str):
            value = strip_volume(normalise_path(value))
        elif column.endswith("username") and isinstance(value, str):
            value = value.rsplit("\\", 1)[-1].casefold()
        elif column == "action_process_image_name_derived":
            value = bool(value)
        projected[column] = value
    return projected


def read_golden(data: bytes, name: str, field_map: Path | None = None) -> tuple[str, Row]:
    """Detect the shape as a hunt does, read it, and return the format and the golden row."""
    options = ReadOptions(field_map=field_map)
    source = InputFile(name, io.BytesIO(data), data[:HEAD_SIZE])
    reader = detect_reader(source, default_readers(options))
    assert reader is not None, f"no reader detects {name}"

    stats = ReadStats()
    rows = list(reader.read(source, stats, options))
    starts = [
        row
        for row in rows
        if row.get("event_sub_type") == "PROCESS_START"
        and row.get("action_process_image_name") == "AnyDesk.exe"
    ]
    assert stats.warnings == [], name
    assert len(starts) == 1, name
    return reader.format_name, starts[0]


def assert_golden(row: Row, name: str) -> None:
    projected = comparable(row)
    for column, expected in EXPECTED.items():
        assert projected[column] == expected, f"{name}: {column}"


@pytest.mark.parametrize("shape", SHAPES, ids=[shape.path for shape in SHAPES])
def test_golden_row_each_shape(shape: Shape) -> None:
    path = FIXTURES / shape.path
    field_map = FIXTURES / shape.field_map if shape.field_map else None

    format_name, row = read_golden(path.read_bytes(), path.name, field_map)

    assert format_name == shape.format_name
    assert_golden(row, shape.path)


def load_evtx_writer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("evtxwriter", REPOSITORY / "tools/evtxwriter.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["evtxwriter"] = module
    spec.loader.exec_module(module)
    return module


def write_golden_evtx(path: Path) -> None:
    """Write the golden event as EVTX, from the wevtutil rendering of the same event."""
    writer = load_evtx_writer()
    root = ElementTree.parse(FIXTURES / "winxml" / "golden_sysmon1_wevtutil.xml").getroot()
    system = root.find(f"{EVENT_NAMESPACE}System")
    assert system is not None
    data = {str(item.get("Name")): item.text or "" for item in root.iter(f"{EVENT_NAMESPACE}Data")}
    spec = writer.EventSpec(
        channel="Microsoft-Windows-Sysmon/Operational",
        provider="Microsoft-Windows-Sysmon",
        provider_guid="{5770385f-c22a-43e0-bf4c-06f5698ffbd9}",
        event_id=1,
        version=5,
        task=1,
        computer="WS01.corp.local",
        record_id=4242,
        time_created=datetime(2024, 4, 15, 11, 9, 27, 125432, tzinfo=UTC),
        time_created_extra_ticks=1,
        data=data,
    )
    writer.write_evtx(path, [spec])


def test_golden_row_evtx(tmp_path: Path) -> None:
    path = tmp_path / "Sysmon.evtx"
    write_golden_evtx(path)

    format_name, row = read_golden(path.read_bytes(), path.name)

    assert format_name == "evtx"
    assert_golden(row, "evtx")
    assert row["event_id"] == "ws01/Microsoft-Windows-Sysmon/Operational/4242"


def write_security_lake(events: list[dict[str, Any]], root: Path) -> Path:
    """Write OCSF events as zstd Parquet in Amazon Security Lake's partition layout."""
    folder = root / "region=eu-west-1" / "accountId=123456789012" / "eventDay=20240415"
    folder.mkdir(parents=True)
    path = folder / "6f1c0e9a-golden.zstd.parquet"
    pq.write_table(pa.Table.from_pylist(events), path, compression="zstd")
    return path


def test_golden_row_security_lake_parquet(tmp_path: Path) -> None:
    events = json.loads((FIXTURES / "golden" / "ocsf_process_activity.json").read_text())
    path = write_security_lake(events, tmp_path)
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"

    format_name, row = read_golden(path.read_bytes(), path.name)

    assert format_name == "ocsf"
    assert_golden(row, "parquet")


def test_golden_copies_merge_into_one_event(tmp_path: Path) -> None:
    # Windows renderings key the event on host, channel and record id, so every copy of the
    # Sysmon record becomes one row that lists all its sources.
    windows = [shape for shape in SHAPES if shape.path.split("/")[0] != "golden"]
    for shape in windows:
        target = tmp_path / shape.path.replace("/", "_")
        target.write_bytes((FIXTURES / shape.path).read_bytes())

    loaded = load_inputs([str(tmp_path)])

    rows = loaded.dataset.connection.execute(
        "SELECT event_id, len(sources) FROM xdr_data WHERE event_sub_type = 'PROCESS_START'"
    ).fetchall()
    assert loaded.discovery.failures == []
    # The OTRF line has no record number, so it is keyed on its content instead.
    assert sorted(count for _, count in rows) == [1, len(windows) - 1]


def hunt_alerts(tmp_path: Path, *args: str) -> list[dict[str, Any]]:
    output = tmp_path / "alerts.json"
    code = main(["hunt", *args, "--format", "json", "--output", str(output)])
    assert code == 0
    alerts: list[dict[str, Any]] = json.loads(output.read_text())
    return alerts


def test_evtx_and_ecs_copies_one_alert(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    write_golden_evtx(inputs / "Sysmon.evtx")
    # The export names the host in another case and without its domain, and hosts are compared
    # case-folded without the domain.
    ecs = (FIXTURES / "ecs" / "golden_sysmon1_winlogbeat.ndjson").read_text()
    assert ecs.count('"computer_name": "WS01.corp.local"') == 1
    renamed = ecs.replace('"computer_name": "WS01.corp.local"', '"computer_name": "ws01"')
    (inputs / "winlogbeat.ndjson").write_text(renamed)

    [alert] = hunt_alerts(tmp_path, str(inputs))

    assert alert["tool"] == "AnyDesk"
    formats = sorted(source["format"] for source in alert["sources"])
    assert formats == ["ecs-json", "evtx"]


def test_no_dedup_keeps_both_alerts(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    write_golden_evtx(inputs / "Sysmon.evtx")
    ecs = FIXTURES / "ecs" / "golden_sysmon1_winlogbeat.ndjson"
    (inputs / "winlogbeat.ndjson").write_bytes(ecs.read_bytes())

    alerts = hunt_alerts(tmp_path, str(inputs), "--no-dedup")

    assert len(alerts) == 2
    assert all(len(alert["sources"]) == 1 for alert in alerts)


def test_planted_copy_keeps_real_alert(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    real = {
        "_time": "2025-03-12T09:14:03Z",
        "event_type": "PROCESS",
        "event_sub_type": "PROCESS_START",
        "agent_os_type": "AGENT_OS_WINDOWS",
        "agent_hostname": "WS09",
        "event_id": "E1",
        "action_process_image_name": "AnyDesk.exe",
    }
    planted = dict(real, action_process_image_name="notepad.exe")
    (inputs / "a.ndjson").write_text(json.dumps(planted) + "\n")
    (inputs / "b.ndjson").write_text(json.dumps(real) + "\n")
    summary_path = tmp_path / "summary.json"

    [alert] = hunt_alerts(tmp_path, str(inputs), "--summary-json", str(summary_path))

    summary = json.loads(summary_path.read_text())
    assert alert["tool"] == "AnyDesk"
    assert summary["duplicates_merged"] == 0
    assert summary["duplicates_conflicting"] == 1
    warning = next(w for w in summary["warnings"] if "differ in" in w)
    assert str(inputs / "a.ndjson") + ":1" in warning
    assert str(inputs / "b.ndjson") + ":1" in warning
