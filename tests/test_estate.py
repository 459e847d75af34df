"""A fixture estate: sanctioned TeamViewer everywhere, and one AnyDesk launched from Word.

Eight hosts run TeamViewer from Program Files, started by services.exe, and an inventory
approves exactly that. One host also starts TeamViewer by hand from Explorer, which is outside
the approval. On WS05, Word starts cmd.exe, which starts AnyDesk from the user's Downloads
folder with `--set-password`, and AnyDesk connects to a relay that no catalog lists. That
AnyDesk alert must rank first in the table order, although it is not the newest alert.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rmmhunt.catalog import load_catalog
from rmmhunt.cli import ExitCode, main
from rmmhunt.hunt import HuntOptions
from rmmhunt.inventory import load_inventory
from rmmhunt.pipeline import hunt_paths
from rmmhunt.report.model import RunSummary
from rmmhunt.triage import TriageOptions

START = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)
TEAMVIEWER = r"C:\Program Files\TeamViewer\TeamViewer_Service.exe"
ANYDESK = r"C:\Users\eve\Downloads\AnyDesk.exe"
WORD = r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE"
CMD = r"C:\Windows\System32\cmd.exe"
RELAY = "relay.badhost.example"
INVENTORY = """\
version: 1
approvals:
  - id: teamviewer-service
    tool: teamviewer
    paths: ['C:\\Program Files\\TeamViewer\\**']
    parents: [services.exe]
    reason: IT remote support
    ticket: CHG-7
"""


def _start(host: str, minutes: int, image: str, parent: str, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "_time": (START + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
        "_product": "XDR agent",
        "_vendor": "PANW",
        "event_id": f"{host}-{minutes}",
        "event_type": "PROCESS",
        "event_sub_type": "PROCESS_START",
        "agent_hostname": host,
        "agent_id": f"agent-{host}",
        "agent_os_type": "AGENT_OS_WINDOWS",
        "action_process_image_name": image.rsplit("\\", 1)[-1],
        "action_process_image_path": image,
        "action_process_image_command_line": f'"{image}"',
        "actor_process_image_name": parent.rsplit("\\", 1)[-1],
        "actor_process_image_path": parent,
    }
    row.update(extra)
    return row


def _estate_rows() -> list[dict[str, Any]]:
    rows = [
        _start(f"WS0{number}", 60 * number, TEAMVIEWER, r"C:\Windows\System32\services.exe")
        for number in range(1, 9)
    ]
    # The manual start on WS03 is the newest alert, so time order alone would put it first.
    rows.append(_start("WS03", 600, TEAMVIEWER, r"C:\Windows\explorer.exe"))

    word = _start(
        "WS05", 300, WORD, r"C:\Windows\explorer.exe", action_process_instance_id="g-word"
    )
    cmd = _start(
        "WS05",
        301,
        CMD,
        WORD,
        action_process_instance_id="g-cmd",
        actor_process_instance_id="g-word",
    )
    anydesk = _start(
        "WS05",
        302,
        ANYDESK,
        CMD,
        action_process_image_command_line=f'"{ANYDESK}" --set-password',
        action_process_instance_id="g-anydesk",
        action_process_os_pid=4242,
        actor_process_instance_id="g-cmd",
    )
    connection = {
        "_time": (START + timedelta(minutes=303)).isoformat().replace("+00:00", "Z"),
        "event_id": "WS05-net-1",
        "event_type": "NETWORK",
        "agent_hostname": "WS05",
        "agent_os_type": "AGENT_OS_WINDOWS",
        "actor_process_image_name": "AnyDesk.exe",
        "actor_process_image_path": ANYDESK,
        "actor_process_instance_id": "g-anydesk",
        "actor_process_os_pid": 4242,
        "action_remote_ip": "198.51.100.7",
        "action_remote_port": 443,
        "action_external_hostname": RELAY,
    }
    return [*rows, word, cmd, anydesk, connection]


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("estate")
    lines = [json.dumps(row) for row in _estate_rows()]
    (folder / "xdr_data.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "inventory.yaml").write_text(INVENTORY, encoding="utf-8")
    return folder


def _run(estate: Path, **options: Any) -> tuple[list[dict[str, Any]], RunSummary]:
    catalog = load_catalog()
    inventory = load_inventory(estate / "inventory.yaml", catalog=catalog)
    return hunt_paths(
        [str(estate / "xdr_data.ndjson")],
        catalog,
        HuntOptions(),
        triage_options=TriageOptions(inventory=inventory, **options),
    )


def test_anydesk_ranks_first(estate: Path) -> None:
    alerts, _ = _run(estate, sort="score")

    first = alerts[0]
    assert first["tool_id"] == "anydesk"
    assert first["agent_hostname"] == "WS05"
    assert first["kind"] == "process_start"
    assert first["risk_score"] > alerts[1]["risk_score"]


def test_anydesk_reasons_name_each_signal(estate: Path) -> None:
    alerts, _ = _run(estate, sort="score")

    reasons = {reason["id"]: reason for reason in alerts[0]["reasons"]}
    assert "not_approved" in reasons
    assert reasons["parent_script_host"]["detail"] == "parent cmd.exe"
    assert reasons["chain_office"]["detail"] == "started below WINWORD.EXE"
    assert "path_user_writable" in reasons
    assert "unattended_access" in reasons
    assert reasons["unknown_relay"]["detail"] == RELAY
    assert "rare_tool_in_estate" in reasons


def test_sanctioned_teamviewer_is_suppressed(estate: Path) -> None:
    alerts, summary = _run(estate, sort="score")

    assert summary.alerts_suppressed == 8
    assert summary.suppressed_by_approval == {"teamviewer-service": 8}
    assert all(not alert["suppressed"] for alert in alerts)
    assert [alert["agent_hostname"] for alert in alerts if alert["tool_id"] == "teamviewer"] == [
        "WS03"
    ]


def test_manual_teamviewer_is_outside_approval(estate: Path) -> None:
    alerts, _ = _run(estate, sort="score")

    manual = next(alert for alert in alerts if alert["tool_id"] == "teamviewer")
    assert manual["approval"]["status"] == "outside_approval"
    assert manual["approval"]["mismatches"] == ["another_parent"]
    assert manual["risk_score"] > 60


def test_time_order_keeps_newest_first(estate: Path) -> None:
    alerts, _ = _run(estate, sort="time")

    times = [alert["_time"] for alert in alerts]
    assert times == sorted(times, reverse=True)
    assert alerts[0]["tool_id"] == "teamviewer"


def test_show_suppressed_lists_approved(estate: Path) -> None:
    alerts, summary = _run(estate, sort="score", show_suppressed=True)

    suppressed = [alert for alert in alerts if alert["suppressed"]]
    assert len(suppressed) == 8
    assert all(alert["approval"]["approval_id"] == "teamviewer-service" for alert in suppressed)
    assert all(alert["severity"] in ("Low", "Informational") for alert in suppressed)
    assert alerts[0]["tool_id"] == "anydesk"
    assert summary.alerts == len(alerts) - 8


def test_min_severity_filters_and_counts(estate: Path) -> None:
    alerts, summary = _run(estate, sort="score", min_severity="critical")

    assert [alert["tool_id"] for alert in alerts] == ["anydesk"]
    assert summary.alerts_below_min_severity == 1


def test_response_checklist_filled_in(estate: Path) -> None:
    alerts, _ = _run(estate, sort="score")

    steps = alerts[0]["response"]
    assert [step["id"] for step in steps] == [
        "verify_legitimacy",
        "investigate_causality",
        "analyze_network",
        "isolate_and_remediate",
    ]
    assert "No approval names AnyDesk" in steps[0]["action"]
    assert "cmd.exe <- WINWORD.EXE" in steps[1]["action"]
    assert f"{RELAY}:443 (unknown)" in steps[2]["action"]
    assert "isolate WS05 (agent agent-WS05)" in steps[3]["action"]


def test_cli_table_puts_anydesk_first(
    estate: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "alerts.txt"

    code = main(
        [
            "hunt",
            str(estate / "xdr_data.ndjson"),
            "--inventory",
            str(estate / "inventory.yaml"),
            "--output",
            str(output),
        ]
    )

    lines = output.read_text(encoding="utf-8").splitlines()
    assert code == ExitCode.OK
    assert "AnyDesk" in lines[2]
    assert "WS05" in lines[2]
    stderr = capsys.readouterr().err
    assert "suppressed by the inventory" in stderr
    assert "teamviewer-service 8" in stderr
