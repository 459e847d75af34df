"""The seed profile on Cortex XDR exports: exactly the rows the original hunt's filter selects."""

from __future__ import annotations

import csv
import json
import ntpath
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rmmhunt.cli import ExitCode, main

# The original hunt's seven names, exactly as its XQL filter writes them.
SEED_NAMES = (
    "anydesk.exe",
    "screenconnect.exe",
    "client.screenconnect.com",
    "optitune.exe",
    "syncrormm.exe",
    "splashtop.exe",
    "splashtopstreamer.exe",
)

# (image name, event type, event sub-type, agent OS, parent image name) for each row. Enum values
# are written with and without the `ENUM.` prefix, as Cortex XDR exports and the XQL API do.
CASES: list[tuple[str | None, str, str, str, str]] = [
    ("AnyDesk.exe", "PROCESS", "PROCESS_START", "AGENT_OS_WINDOWS", "explorer.exe"),
    ("SCREENCONNECT.EXE", "PROCESS", "PROCESS_START", "AGENT_OS_WINDOWS", "services.exe"),
    ("Client.ScreenConnect.com", "PROCESS", "PROCESS_START", "AGENT_OS_WINDOWS", "cmd.exe"),
    ("OptiTune.exe", "ENUM.PROCESS", "ENUM.PROCESS_START", "ENUM.AGENT_OS_WINDOWS", "x.exe"),
    ("SyncroRMM.exe", "PROCESS", "PROCESS_START", "AGENT_OS_WINDOWS", "services.exe"),
    ("splashtop.exe", "PROCESS", "PROCESS_START", "ENUM.AGENT_OS_WINDOWS", "msiexec.exe"),
    ("SplashtopStreamer.EXE", "PROCESS", "PROCESS_START", "AGENT_OS_WINDOWS", "msiexec.exe"),
    # Not a process start.
    ("AnyDesk.exe", "PROCESS", "PROCESS_END", "AGENT_OS_WINDOWS", "explorer.exe"),
    ("AnyDesk.exe", "PROCESS", "PROCESS_INJECTION", "AGENT_OS_WINDOWS", "explorer.exe"),
    ("AnyDesk.exe", "FILE", "FILE_WRITE", "AGENT_OS_WINDOWS", "explorer.exe"),
    ("AnyDesk.exe", "EVENT_LOG", "PROCESS_START", "AGENT_OS_WINDOWS", "services.exe"),
    # Not a Windows agent.
    ("anydesk.exe", "PROCESS", "PROCESS_START", "AGENT_OS_LINUX", "bash"),
    ("AnyDesk.exe", "ENUM.PROCESS", "ENUM.PROCESS_START", "ENUM.AGENT_OS_MAC", "launchd"),
    # The tool is only the parent, or only the causality actor.
    ("cmd.exe", "PROCESS", "PROCESS_START", "AGENT_OS_WINDOWS", "AnyDesk.exe"),
    ("powershell.exe", "PROCESS", "PROCESS_START", "AGENT_OS_WINDOWS", "ScreenConnect.exe"),
    # Names that the catalog lists but the original hunt does not.
    ("SRService.exe", "PROCESS", "PROCESS_START", "AGENT_OS_WINDOWS", "services.exe"),
    ("ScreenConnect.ClientService.exe", "PROCESS", "PROCESS_START", "AGENT_OS_WINDOWS", "x.exe"),
    ("TeamViewer.exe", "PROCESS", "PROCESS_START", "AGENT_OS_WINDOWS", "explorer.exe"),
    # Near misses: a suffix, a longer name, no extension.
    ("notanydesk.exe", "PROCESS", "PROCESS_START", "AGENT_OS_WINDOWS", "explorer.exe"),
    ("anydesk.exe.bak", "PROCESS", "PROCESS_START", "AGENT_OS_WINDOWS", "explorer.exe"),
    ("anydesk", "PROCESS", "PROCESS_START", "AGENT_OS_WINDOWS", "explorer.exe"),
    # No image name in the export, only the path of AnyDesk.exe. The dataset fills the name from
    # the path, as Cortex stores it, so the filter selects the row, as the same XQL query does.
    (None, "PROCESS", "PROCESS_START", "AGENT_OS_WINDOWS", "explorer.exe"),
]


def xdr_rows() -> list[dict[str, Any]]:
    """Build one `xdr_data` row per case; every third row has its time in epoch milliseconds."""
    rows = []
    for index, (name, event_type, sub_type, os_type, parent) in enumerate(CASES):
        time: str | int = f"2025-03-12T09:{index:02d}:00.000Z"
        if index % 3 == 2:
            time = 1_741_770_000_000 + index * 60_000
        row: dict[str, Any] = {
            "_time": time,
            "event_id": f"AAAB{index:012d}",
            "event_type": event_type,
            "event_sub_type": sub_type,
            "agent_os_type": os_type,
            "agent_hostname": f"HOST-{index:02d}",
            "agent_id": f"{index:032x}",
            "action_process_image_name": name,
            "action_process_image_path": f"C:\\Tools\\{name or 'AnyDesk.exe'}",
            "actor_process_image_name": parent,
            "actor_process_image_path": f"C:\\Windows\\{parent}",
            "causality_actor_process_image_name": "ScreenConnect.exe",
            "actor_effective_username": "CORP\\bob",
            "_product": "XDR agent",
            "_vendor": "PANW",
        }
        if name is None:
            # An export without the column, as a query that did not select it returns.
            del row["action_process_image_name"]
        rows.append(row)
    return rows


def dataset_image_name(row: dict[str, Any]) -> str:
    """Return the image name the dataset holds: the export's, else the path's base name."""
    return row.get("action_process_image_name") or ntpath.basename(row["action_process_image_path"])


def seed_filter_selects(row: dict[str, Any]) -> bool:
    """Apply the original hunt's filter to one exported row, independently of rmmhunt."""

    def enum(value: object) -> str:
        return str(value).removeprefix("ENUM.")

    name = dataset_image_name(row)
    return (
        enum(row["event_type"]) == "PROCESS"
        and enum(row["event_sub_type"]) == "PROCESS_START"
        and enum(row["agent_os_type"]) == "AGENT_OS_WINDOWS"
        and name.lower() in SEED_NAMES
    )


def write_ndjson(rows: list[dict[str, Any]], path: Path) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def write_json_array(rows: list[dict[str, Any]], path: Path) -> None:
    path.write_text(json.dumps(rows, indent=1), encoding="utf-8")


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]), restval="")
        writer.writeheader()
        writer.writerows(rows)


def write_query_results_reply(rows: list[dict[str, Any]], path: Path) -> None:
    reply = {"status": "SUCCESS", "number_of_results": len(rows), "results": {"data": rows}}
    path.write_text(json.dumps({"reply": reply}), encoding="utf-8")


def write_query_results_stream(rows: list[dict[str, Any]], path: Path) -> None:
    # The stream's body is compact JSON lines without a final newline.
    text = "\n".join(json.dumps(row, separators=(",", ":")) for row in rows)
    path.write_text(text, encoding="utf-8")


WRITERS: dict[str, Callable[[list[dict[str, Any]], Path], None]] = {
    "xdr_data.ndjson": write_ndjson,
    "xdr_data.json": write_json_array,
    "xdr_data.csv": write_csv,
    "get_query_results.json": write_query_results_reply,
    "get_query_results_stream.txt": write_query_results_stream,
}


def hunt_seed(tmp_path: Path, source: Path) -> tuple[int, list[dict[str, Any]], dict[str, Any]]:
    output = tmp_path / "alerts.json"
    summary = tmp_path / "summary.json"
    code = main(
        [
            "hunt",
            str(source),
            "--profile",
            "seed",
            "--format",
            "json",
            "--output",
            str(output),
            "--summary-json",
            str(summary),
            "-q",
        ]
    )
    return code, json.loads(output.read_text()), json.loads(summary.read_text())


def test_cases_cover_both_outcomes() -> None:
    selected = [row for row in xdr_rows() if seed_filter_selects(row)]

    # Each seed name once, plus the AnyDesk start whose name only its path gives.
    assert len(selected) == len(SEED_NAMES) + 1
    assert {dataset_image_name(row).lower() for row in selected} == set(SEED_NAMES)


@pytest.mark.parametrize("file_name", sorted(WRITERS))
def test_seed_profile_selects_filter_rows(tmp_path: Path, file_name: str) -> None:
    rows = xdr_rows()
    source = tmp_path / file_name
    WRITERS[file_name](rows, source)
    expected = {row["event_id"]: row for row in rows if seed_filter_selects(row)}

    code, alerts, summary = hunt_seed(tmp_path, source)

    assert code == ExitCode.OK
    assert summary["records_read"] == len(rows)
    assert summary["records_normalised"] == len(rows)
    assert sorted(alert["event_id"] for alert in alerts) == sorted(expected)
    for alert in alerts:
        row = expected[alert["event_id"]]
        assert alert["kind"] == "process_start"
        assert alert["action_process_image_name"] == dataset_image_name(row)
        assert alert["action_process_image_path"] == row["action_process_image_path"]
        assert alert["agent_hostname"] == row["agent_hostname"]
        assert alert["actor_process_image_name"] == row["actor_process_image_name"]
        assert alert["matched_on"] == ["name"]


def test_seed_profile_on_shared_fixtures(fixtures: Path, tmp_path: Path) -> None:
    for path in sorted((fixtures / "xdr").iterdir()):
        if path.suffix == ".md":
            continue
        code, alerts, _ = hunt_seed(tmp_path, path)

        # Each fixture contains one Windows AnyDesk start, AnyDesk as a parent only, a Linux
        # agent's anydesk and a SplashtopStreamer.exe start whose name only its path gives.
        # The first and the last are the original hunt's rows, newest first.
        names = [a["action_process_image_name"] for a in alerts]
        assert code == ExitCode.OK, path.name
        assert names == ["SplashtopStreamer.exe", "AnyDesk.exe"], path.name
        assert alerts[1]["event_id"] == "AAABjuNvQ1Qx0001", path.name
