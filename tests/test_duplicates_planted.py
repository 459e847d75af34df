"""Planted copies of an event that differ from the real one only in a column the hunt reads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rmmhunt.cli import main
from rmmhunt.dataset import Dataset
from rmmhunt.duplicates import CONTENT_COLUMNS
from rmmhunt.schema import COLUMN_NAMES, Row

REAL_START: dict[str, Any] = {
    "_time": "2025-03-12T09:14:03Z",
    "event_type": "PROCESS",
    "event_sub_type": "PROCESS_START",
    "agent_os_type": "AGENT_OS_WINDOWS",
    "agent_hostname": "WS01",
    "event_id": "E9",
    "action_process_image_name": "AnyDesk.exe",
    "action_process_image_path": "C:\\Users\\Public\\AnyDesk.exe",
    "actor_effective_username": "CORP\\eve",
}

HASH_CATALOG = """\
id: hashtool
name: Hash Tool
vendor: Example
category: rmm
description: A tool that only its hash identifies.
executables: ["hashtool.exe"]
hashes:
  sha256: ["{sha256}"]
techniques: [T1219]
"""


def write_copies(folder: Path, planted: dict[str, Any], real: dict[str, Any]) -> None:
    """Write the planted copy first, so that it is the first copy read."""
    folder.mkdir()
    (folder / "a.ndjson").write_text(json.dumps(planted) + "\n")
    (folder / "b.ndjson").write_text(json.dumps(real) + "\n")


def hunt(tmp_path: Path, *args: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    output = tmp_path / "alerts.json"
    summary = tmp_path / "summary.json"
    options = ["--format", "json", "--output", str(output), "--summary-json", str(summary)]
    code = main(["hunt", *args, *options])
    assert code == 0
    return json.loads(output.read_text()), json.loads(summary.read_text())


def test_planted_host_keeps_real_alert(tmp_path: Path) -> None:
    planted = dict(REAL_START, agent_hostname="WS-APPROVED")
    write_copies(tmp_path / "inputs", planted, REAL_START)
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "version: 1\napprovals:\n  - id: ok\n    tool: anydesk\n    hosts: [WS-APPROVED]\n"
    )

    alerts, summary = hunt(tmp_path, str(tmp_path / "inputs"), "--inventory", str(inventory))

    [alert] = alerts
    assert alert["agent_hostname"] == "WS01"
    assert alert["tool"] == "AnyDesk"
    assert summary["duplicates_merged"] == 0
    assert summary["duplicates_conflicting"] == 1
    assert any("differ in agent_hostname:" in warning for warning in summary["warnings"])


def test_planted_hash_keeps_real_alert(tmp_path: Path) -> None:
    real_hash = "a" * 64
    real = dict(
        REAL_START,
        action_process_image_name="svchelper.exe",
        action_process_image_path="C:\\Users\\Public\\svchelper.exe",
        action_process_image_sha256=real_hash,
    )
    planted = dict(real, action_process_image_sha256="b" * 64)
    write_copies(tmp_path / "inputs", planted, real)
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "hashtool.yaml").write_text(HASH_CATALOG.format(sha256=real_hash))

    alerts, summary = hunt(tmp_path, "--catalog", str(catalog), str(tmp_path / "inputs"))

    [alert] = alerts
    assert alert["tool"] == "Hash Tool"
    assert alert["action_process_image_sha256"] == real_hash
    assert summary["duplicates_conflicting"] == 1
    assert any("differ in action_process_image_sha256:" in w for w in summary["warnings"])


def test_hash_missing_in_one_copy_conflicts(tmp_path: Path) -> None:
    real = dict(REAL_START, action_process_image_sha256="a" * 64)
    planted = dict(REAL_START)
    write_copies(tmp_path / "inputs", planted, real)

    _, summary = hunt(tmp_path, str(tmp_path / "inputs"))

    assert summary["duplicates_merged"] == 0
    assert summary["duplicates_conflicting"] == 1


def _row(source: str, **values: object) -> Row:
    row: Row = {
        "_time": datetime(2025, 3, 12, 9, 14, 3, tzinfo=UTC),
        "event_id": "E9",
        "source_file": source,
        "source_record": "1",
        "source_format": "test",
    }
    row.update(values)
    return row


def test_spelling_differences_still_merge() -> None:
    dataset = Dataset()
    dataset.add(
        _row(
            "a.evtx",
            agent_hostname="WS01.corp.local",
            actor_effective_username="CORP\\Eve",
            action_process_image_sha256="AB" * 32,
        )
    )
    dataset.add(
        _row(
            "b.json",
            agent_hostname="ws01",
            actor_effective_username="corp\\eve ",
            action_process_image_sha256="ab" * 32,
        )
    )

    dataset.finalise()

    [row] = dataset.query("SELECT agent_hostname, len(sources) AS copies FROM xdr_data")
    assert row["copies"] == 2
    assert row["agent_hostname"] == "WS01.corp.local"
    assert dataset.conflicting_events == 0


def test_other_short_host_conflicts() -> None:
    dataset = Dataset()
    dataset.add(_row("a.json", agent_hostname="ws02.corp.local"))
    dataset.add(_row("b.json", agent_hostname="WS01.corp.local"))

    dataset.finalise()

    assert dataset.count_rows() == 2
    assert dataset.duplicate_conflicts[0].columns == ["agent_hostname"]


def test_every_column_but_key_compared() -> None:
    left_out = COLUMN_NAMES - set(CONTENT_COLUMNS)

    assert left_out == {"_time", "event_id", "source_format", "source_file", "source_record"}


def test_other_host_domain_conflicts() -> None:
    dataset = Dataset()
    dataset.add(_row("a.json", agent_hostname="WS01.approved.example"))
    dataset.add(_row("b.json", agent_hostname="ws01.corp.local"))
    dataset.add(_row("c.json", agent_hostname="WS01.corp.local."))

    dataset.finalise()

    rows = dataset.query("SELECT agent_hostname AS host, len(sources) AS copies FROM xdr_data")
    assert sorted((row["host"], row["copies"]) for row in rows) == [
        ("WS01.approved.example", 1),
        ("ws01.corp.local", 2),
    ]
    assert dataset.duplicate_conflicts[0].columns == ["agent_hostname"]
