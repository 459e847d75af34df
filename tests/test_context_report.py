"""Chains and destinations in the table, JSON and CSV, and new kinds in the run summary."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rmmhunt.catalog import load_catalog
from rmmhunt.enrich import ALERT_KINDS
from rmmhunt.hunt import HuntOptions
from rmmhunt.pipeline import hunt_paths
from rmmhunt.report.formats import render_csv, render_json
from rmmhunt.report.table import context_lines, render_table

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
T0 = datetime(2025, 3, 11, 14, 3, 52, tzinfo=UTC)

CHAIN = [
    {"image_name": "cmd.exe", "image_path": "C:\\Windows\\System32\\cmd.exe", "time": T0},
    {"image_name": "WINWORD.EXE", "image_path": None, "time": None},
]
DESTINATIONS = [
    {"host_name": "cdn-7.example.net", "address": None, "port": None, "infrastructure": "unknown"},
    {
        "host_name": "relay-12.net.anydesk.com",
        "address": "192.0.2.45",
        "port": 443,
        "infrastructure": "vendor",
    },
    {
        "host_name": "cdn-7.example.net",
        "address": "198.51.100.23",
        "port": 443,
        "infrastructure": "unknown",
    },
]


def _alert(**extra: Any) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "_time": T0,
        "agent_hostname": "WS03",
        "kind": "process_start",
        "tool": "AnyDesk",
        "action_process_image_path": "C:\\ProgramData\\AnyDesk\\AnyDesk.exe",
        "actor_process_image_name": "cmd.exe",
        "causality_chain": CHAIN,
        "destinations": DESTINATIONS,
    }
    alert.update(extra)
    return alert


def test_table_shows_chain_and_destinations() -> None:
    lines = context_lines(_alert())

    assert lines[0] == "    chain: cmd.exe < WINWORD.EXE"
    assert lines[1] == (
        "    destinations: relay-12.net.anydesk.com:443 (vendor), cdn-7.example.net:443 (unknown)"
    )


def test_table_omits_parent_only_chain() -> None:
    assert context_lines(_alert(causality_chain=CHAIN[:1], destinations=[])) == []


def test_table_escapes_chain_text() -> None:
    chain = [{"image_name": "a\x1b[31m.exe"}, {"image_name": "b.exe"}]
    [line] = context_lines(_alert(causality_chain=chain, destinations=[]))

    assert "\x1b" not in line
    assert "\\x1b" in line


def test_table_shows_actor_for_activity() -> None:
    alert = _alert(
        kind="rmm_activity",
        action_process_image_path="C:\\Windows\\System32\\cmd.exe",
        actor_process_image_path="C:\\ProgramData\\AnyDesk\\AnyDesk.exe",
        actor_process_image_name="AnyDesk.exe",
        causality_chain=[{"image_name": "services.exe"}],
        destinations=[],
    )
    row = render_table([alert]).splitlines()[2]

    assert "C:\\ProgramData\\AnyDesk\\AnyDesk.exe" in row
    assert "services.exe" in row
    assert "cmd.exe" not in row


def test_json_keeps_full_lists() -> None:
    [alert] = json.loads(render_json([_alert()]))

    assert alert["causality_chain"][0]["time"] == "2025-03-11T14:03:52.000000Z"
    assert len(alert["destinations"]) == 3


def test_csv_writes_lists_as_json_text() -> None:
    [row] = list(csv.DictReader(io.StringIO(render_csv([_alert()]))))

    assert json.loads(row["causality_chain"])[1]["image_name"] == "WINWORD.EXE"
    assert json.loads(row["destinations"])[1]["port"] == 443


def test_summary_lists_every_alert_kind() -> None:
    alerts, summary = hunt_paths([str(EXAMPLES / "evtx")], load_catalog(), HuntOptions())

    assert list(summary.alerts_by_kind)[: len(ALERT_KINDS)] == list(ALERT_KINDS)
    assert sum(summary.alerts_by_kind.values()) == len(alerts)
    assert summary.alerts_by_kind["rmm_vendor_contact"] == 0


def test_examples_give_context_to_every_alert() -> None:
    paths = [str(EXAMPLES / "evtx"), str(EXAMPLES / "xdr")]
    alerts, _ = hunt_paths(paths, load_catalog(), HuntOptions())

    for alert in alerts:
        assert isinstance(alert["causality_chain"], list)
        assert isinstance(alert["destinations"], list)
        assert isinstance(alert["related_alerts"], list)
        assert alert["prevalence"] is not None
