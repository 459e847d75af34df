"""Persistence alerts: scheduled tasks and Run keys that start a catalog tool."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rmmhunt.catalog import load_catalog
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.context.persistence import RUN_KEY, match_command
from rmmhunt.dataset import Dataset
from rmmhunt.enrich import enrich, prepare_dataset
from rmmhunt.hunt import HuntOptions, run_hunt
from rmmhunt.readers.winevent import WinEvent, map_win_event
from rmmhunt.schema import Row

T0 = datetime(2025, 3, 11, 14, 0, tzinfo=UTC)
SYSMON = ("Microsoft-Windows-Sysmon/Operational", "Microsoft-Windows-Sysmon")
SECURITY = ("Security", "Microsoft-Windows-Security-Auditing")
TASKS = ("Microsoft-Windows-TaskScheduler/Operational", "Microsoft-Windows-TaskScheduler")
USER_RUN = "HKU\\S-1-5-21-1004336348-1177238915-682003330-1001\\Software\\Microsoft\\Windows"
ALL_TOOLS = frozenset({"all"})


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _event(source: tuple[str, str], event_id: int, record: int, data: Mapping[str, object]) -> Row:
    channel, provider = source
    event = WinEvent(
        channel=channel,
        event_id=event_id,
        provider=provider,
        computer="WS03.corp.local",
        record_id=record,
        time_created=T0 + timedelta(seconds=record),
        data=data,
    )
    row = map_win_event(
        event, source_format="test", source_file="t.evtx", source_record=str(record)
    )
    assert isinstance(row, dict), row
    return row


def _run_value(record: int, key: str, details: str, image: str = "C:\\x\\writer.exe") -> Row:
    data = {"TargetObject": key, "Details": details, "Image": image, "ProcessGuid": "{W}"}
    return _event(SYSMON, 13, record, data)


def _task_xml(*commands: tuple[str, str]) -> str:
    actions = "".join(
        f"<Exec><Command>{command}</Command><Arguments>{arguments}</Arguments></Exec>"
        for command, arguments in commands
    )
    return (
        '<?xml version="1.0" encoding="UTF-16"?><Task version="1.2" '
        'xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">'
        f'<Actions Context="Author">{actions}</Actions></Task>'
    )


def _task_created(record: int, name: str, *commands: tuple[str, str]) -> Row:
    data = {
        "TaskName": name,
        "TaskContent": _task_xml(*commands),
        "SubjectUserName": "bob",
        "SubjectDomainName": "CORP",
    }
    return _event(SECURITY, 4698, record, data)


def _alerts(rows: list[Row], catalog: Catalog, **options: Any) -> list[dict[str, Any]]:
    dataset = Dataset()
    dataset.add_all(rows)
    dataset.finalise()
    prepare_dataset(dataset)
    hunt_options = HuntOptions(**options)
    return enrich(dataset, catalog, hunt_options, run_hunt(dataset, catalog, hunt_options))


def _persistence(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [alert for alert in alerts if alert["kind"] == "persistence"]


def test_run_value_naming_tool(catalog: Catalog) -> None:
    key = f"{USER_RUN}\\CurrentVersion\\Run\\AnyDesk"
    row = _run_value(1, key, '"C:\\ProgramData\\AnyDesk\\AnyDesk.exe" --control')
    [alert] = _persistence(_alerts([row], catalog))

    assert alert["tool_id"] == "anydesk"
    assert alert["persistence_type"] == "run_key"
    assert alert["persistence_name"] == key
    assert alert["persistence_command"] == '"C:\\ProgramData\\AnyDesk\\AnyDesk.exe" --control'
    assert alert["matched_on"] == ["name"]
    assert alert["event_count"] == 1
    assert alert["first_time"] == T0 + timedelta(seconds=1)


def test_run_value_chain_starts_with_writer(catalog: Catalog) -> None:
    key = f"{USER_RUN}\\CurrentVersion\\RunOnce\\x"
    row = _run_value(1, key, "C:\\ProgramData\\AnyDesk\\AnyDesk.exe", image="C:\\t\\dropper.exe")
    [alert] = _persistence(_alerts([row], catalog))

    assert [entry["image_name"] for entry in alert["causality_chain"]] == ["dropper.exe"]


def test_run_value_under_install_path(catalog: Catalog) -> None:
    key = "HKLM\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows\\CurrentVersion\\Run\\Helper"
    row = _run_value(1, key, "C:\\Program Files (x86)\\AnyDesk\\helper.exe")
    alerts = _persistence(_alerts([row], catalog))

    assert [(a["tool_id"], a["matched_on"]) for a in alerts] == [("anydesk", ["install_path"])]


def test_other_registry_keys_are_not_persistence(catalog: Catalog) -> None:
    rows = [
        _run_value(1, f"{USER_RUN}\\CurrentVersion\\Explorer\\RunMRU\\a", "AnyDesk.exe\\1"),
        _run_value(2, f"{USER_RUN}\\CurrentVersion\\Run\\Other", "C:\\x\\notepad.exe"),
        _run_value(3, f"{USER_RUN}\\CurrentVersion\\Run\\Deep\\Value", "AnyDesk.exe"),
    ]

    assert _persistence(_alerts(rows, catalog)) == []


def test_task_4698_naming_tool(catalog: Catalog) -> None:
    row = _task_created(
        5,
        "\\AnyDeskUpdate",
        ("C:\\Users\\bob\\AppData\\Roaming\\AnyDesk.exe", "--start-with-win"),
    )
    [alert] = _persistence(_alerts([row], catalog))

    assert alert["persistence_type"] == "scheduled_task"
    assert alert["persistence_name"] == "\\AnyDeskUpdate"
    assert alert["persistence_command"] == (
        "C:\\Users\\bob\\AppData\\Roaming\\AnyDesk.exe --start-with-win"
    )
    assert alert["actor_effective_username"] == "CORP\\bob"


def test_task_with_two_actions_counts_once(catalog: Catalog) -> None:
    row = _task_created(5, "\\Twice", ("C:\\x\\AnyDesk.exe", "--a"), ("C:\\y\\AnyDesk.exe", "--b"))
    [alert] = _persistence(_alerts([row], catalog))

    assert alert["event_count"] == 1


def test_task_events_group_by_name(catalog: Catalog) -> None:
    rows = [
        _task_created(5, "\\AnyDeskUpdate", ("C:\\x\\AnyDesk.exe", "")),
        _event(TASKS, 106, 6, {"TaskName": "\\AnyDeskUpdate", "UserContext": "CORP\\bob"}),
        _event(TASKS, 129, 7, {"TaskName": "\\AnyDeskUpdate", "Path": "C:\\x\\AnyDesk.exe"}),
    ]
    [alert] = _persistence(_alerts(rows, catalog))

    assert alert["event_count"] == 3
    assert alert["first_time"] == T0 + timedelta(seconds=5)
    assert alert["last_time"] == T0 + timedelta(seconds=7)


def test_task_106_alone_names_no_tool(catalog: Catalog) -> None:
    row = _event(TASKS, 106, 6, {"TaskName": "\\AnyDeskUpdate", "UserContext": "CORP\\bob"})

    assert _persistence(_alerts([row], catalog)) == []


def test_task_through_cmd_names_no_tool(catalog: Catalog) -> None:
    row = _task_created(5, "\\Wrapped", ("cmd.exe", "/c C:\\x\\AnyDesk.exe"))

    assert _persistence(_alerts([row], catalog)) == []


def test_persistence_links_related_alerts(catalog: Catalog) -> None:
    start = _event(
        SYSMON,
        1,
        2,
        {
            "Image": "C:\\ProgramData\\AnyDesk\\AnyDesk.exe",
            "CommandLine": "AnyDesk.exe --service",
            "ProcessGuid": "{A}",
            "ProcessId": "700",
        },
    )
    task = _task_created(5, "\\AnyDeskUpdate", ("C:\\ProgramData\\AnyDesk\\AnyDesk.exe", ""))
    alerts = _alerts([start, task], catalog)
    [alert] = _persistence(alerts)
    [process_start] = [a for a in alerts if a["kind"] == "process_start"]

    assert alert["related_alerts"] == [process_start["event_id"]]
    assert process_start["related_alerts"] == []


def test_persistence_respects_categories(catalog: Catalog) -> None:
    key = f"{USER_RUN}\\CurrentVersion\\Run\\P"
    row = _run_value(1, key, "C:\\Tools\\PsExec64.exe -accepteula")

    assert _persistence(_alerts([row], catalog)) == []
    assert len(_persistence(_alerts([row], catalog, categories=ALL_TOOLS))) == 1


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\A", True),
        ("HKU\\.DEFAULT\\Software\\Microsoft\\Windows\\CurrentVersion\\RunOnce\\A", True),
        ("\\REGISTRY\\MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\A", True),
        ("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\RunServices\\A", False),
        ("HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run", False),
    ],
)
def test_run_key_pattern(key: str, expected: bool) -> None:
    assert bool(RUN_KEY.match(key)) is expected


def test_match_command_expands_variables(catalog: Catalog) -> None:
    found = match_command(catalog, '"%ProgramData%\\AnyDesk\\AnyDesk.exe" --svc', ALL_TOOLS)

    assert found is not None
    assert found[0].id == "anydesk"
