"""The hunt command's inventory, severity and sort options, on the bundled example."""

from __future__ import annotations

import json
from contextlib import redirect_stderr
from pathlib import Path
from typing import Any

import pytest

from rmmhunt import __version__
from rmmhunt.cli import ExitCode, main

REPOSITORY = Path(__file__).resolve().parents[1]
EXAMPLES = REPOSITORY / "examples"
INVENTORY = EXAMPLES / "inventory.yaml"
INPUTS = [str(EXAMPLES / "evtx"), str(EXAMPLES / "xdr")]


def _hunt_json(tmp_path: Path, *args: str) -> tuple[int, list[dict[str, Any]], dict[str, Any]]:
    output = tmp_path / "alerts.json"
    summary = tmp_path / "summary.json"
    code = main(
        [
            "hunt",
            *INPUTS,
            *args,
            "-q",
            "--format",
            "json",
            "--output",
            str(output),
            "--summary-json",
            str(summary),
        ]
    )
    return code, json.loads(output.read_text()), json.loads(summary.read_text())


def test_example_inventory_suppresses_teamviewer(tmp_path: Path) -> None:
    code, alerts, summary = _hunt_json(tmp_path, "--inventory", str(INVENTORY))

    assert code == ExitCode.OK
    assert summary["inventory"] == str(INVENTORY)
    assert summary["suppressed_by_approval"]["teamviewer-it"] == 5
    assert summary["alerts_suppressed"] == sum(summary["suppressed_by_approval"].values())
    assert summary["alerts"] == len(alerts)
    assert not [alert for alert in alerts if alert["tool_id"] == "teamviewer"]


def test_example_marks_expired_and_other_host(tmp_path: Path) -> None:
    _, alerts, _ = _hunt_json(tmp_path, "--inventory", str(INVENTORY))

    mismatches = {
        (alert["agent_hostname"], alert["tool_id"]): alert["approval"]["mismatches"]
        for alert in alerts
        if alert["approval"]["status"] == "outside_approval"
    }
    assert mismatches[("SRV-APP-02", "screenconnect")] == ["expired"]
    assert mismatches[("HR-DT-11", "splashtop")] == ["another_host"]


def test_json_defaults_to_newest_first(tmp_path: Path) -> None:
    _, alerts, _ = _hunt_json(tmp_path)

    times = [alert["_time"] for alert in alerts]
    assert times == sorted(times, reverse=True)


def test_sort_score_orders_json(tmp_path: Path) -> None:
    _, alerts, _ = _hunt_json(tmp_path, "--sort", "score")

    scores = [alert["risk_score"] for alert in alerts]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > scores[-1]


def test_every_alert_carries_reasons_and_response(tmp_path: Path) -> None:
    _, alerts, _ = _hunt_json(tmp_path, "--inventory", str(INVENTORY))

    for alert in alerts:
        total = alert["base_risk_score"] + sum(reason["weight"] for reason in alert["reasons"])
        assert alert["risk_score"] == max(0, min(100, total))
        assert len(alert["response"]) == 4
        assert alert["suppressed"] is False


def test_show_suppressed_marks_alerts(tmp_path: Path) -> None:
    _, alerts, summary = _hunt_json(tmp_path, "--inventory", str(INVENTORY), "--show-suppressed")

    suppressed = [alert for alert in alerts if alert["suppressed"]]
    assert len(suppressed) == summary["alerts_suppressed"]
    assert all(alert["approval"]["status"] == "approved" for alert in suppressed)
    assert all(alert["approval"]["approval_id"] for alert in suppressed)


def test_min_severity_counts_left_out(tmp_path: Path) -> None:
    _, all_alerts, _ = _hunt_json(tmp_path)
    _, high, summary = _hunt_json(tmp_path, "--min-severity", "high")

    assert all(alert["severity"] in ("High", "Critical") for alert in high)
    assert len(high) + summary["alerts_below_min_severity"] == len(all_alerts)
    assert summary["alerts_below_min_severity"] > 0


def test_show_suppressed_obeys_min_severity(tmp_path: Path) -> None:
    args = ("--inventory", str(INVENTORY), "--show-suppressed")
    _, every, every_summary = _hunt_json(tmp_path, *args, "--min-severity", "informational")
    _, high, summary = _hunt_json(tmp_path, *args, "--min-severity", "high")

    suppressed_every = [alert for alert in every if alert["suppressed"]]
    suppressed_high = [alert for alert in high if alert["suppressed"]]
    assert len(suppressed_every) == every_summary["alerts_suppressed"]
    assert every_summary["suppressed_listed"] == len(suppressed_every)
    assert summary["suppressed_listed"] == len(suppressed_high)
    assert all(alert["severity"] in ("High", "Critical") for alert in high)
    assert len(high) + summary["alerts_below_min_severity"] == len(every)


def test_summary_text_reports_suppressed_listing(tmp_path: Path) -> None:
    stderr = tmp_path / "stderr.txt"
    args = [*INPUTS, "--inventory", str(INVENTORY), "--format", "json"]
    args += ["--output", str(tmp_path / "alerts.json")]

    with stderr.open("w", encoding="utf-8") as stream, redirect_stderr(stream):
        main(["hunt", *args])
        main(["hunt", *args, "--show-suppressed", "--min-severity", "high"])

    # Each run's summary starts with the version line.
    hidden, shown = stderr.read_text(encoding="utf-8").split(f"rmmhunt {__version__},")[1:]
    assert "listed only with --show-suppressed" in hidden
    assert "listed only with --show-suppressed" not in shown
    assert "; 0 listed" in shown
    assert "below --min-severity:" in shown


def test_table_explains_reasons(tmp_path: Path) -> None:
    output = tmp_path / "table.txt"

    code = main(["hunt", *INPUTS, "-q", "--inventory", str(INVENTORY), "--output", str(output)])

    text = output.read_text(encoding="utf-8")
    assert code == ExitCode.OK
    assert "    reasons: " in text
    assert "approval: outside approval splashtop-ws04" in text


def test_csv_inventory_with_column_mapping(tmp_path: Path) -> None:
    inventory = tmp_path / "export.csv"
    inventory.write_text("Product,Device\nTeamViewer,WS0?\n", encoding="utf-8")

    code, _, summary = _hunt_json(
        tmp_path,
        "--inventory",
        str(inventory),
        "--inventory-columns",
        "tool=Product,hosts=Device",
    )

    assert code == ExitCode.OK
    assert summary["suppressed_by_approval"] == {"teamviewer-1": 5}


def test_invalid_inventory_exits_with_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = tmp_path / "bad.yaml"
    inventory.write_text("approvals:\n  - tool: teamviewer\n    hostz: [WS01]\n")

    code = main(["hunt", *INPUTS, "-q", "--inventory", str(inventory)])

    assert code == ExitCode.CONFIG
    assert f"{inventory}:3:" in capsys.readouterr().err


def test_columns_without_inventory_is_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["hunt", *INPUTS, "-q", "--inventory-columns", "tool=Product"])

    assert code == ExitCode.USAGE
    assert "--inventory-columns needs --inventory" in capsys.readouterr().err


def test_unknown_min_severity_is_usage_error() -> None:
    assert main(["hunt", *INPUTS, "--min-severity", "severe"]) == ExitCode.USAGE
