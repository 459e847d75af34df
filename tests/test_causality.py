"""Process links, causality actors and chains on hand-built Sysmon and Security 4688 events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rmmhunt.catalog import load_catalog
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.context.causality import LAUNCHERS, is_launcher
from rmmhunt.dataset import Dataset
from rmmhunt.enrich import enrich, prepare_dataset
from rmmhunt.hunt import HuntOptions, run_hunt
from rmmhunt.schema import Row

T0 = datetime(2025, 3, 11, 14, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _sysmon_start(
    record: int,
    seconds: int,
    image: str,
    guid: str,
    parent_guid: str | None,
    *,
    pid: int,
    parent_pid: int | None = None,
    parent_image: str | None = None,
    host: str = "WS03",
    **extra: Any,
) -> Row:
    row: Row = {
        "_time": T0 + timedelta(seconds=seconds),
        "event_id": f"{host.lower()}/Microsoft-Windows-Sysmon/Operational/{record}",
        "event_type": "PROCESS",
        "event_sub_type": "PROCESS_START",
        "agent_os_type": "AGENT_OS_WINDOWS",
        "agent_hostname": host,
        "action_evtlog_event_id": 1,
        "action_process_image_path": image,
        "action_process_image_name": image.rsplit("\\", 1)[-1],
        "action_process_image_command_line": f'"{image}"',
        "action_process_os_pid": pid,
        "action_process_instance_id": guid,
        "actor_process_instance_id": parent_guid,
        "actor_process_os_pid": parent_pid,
        "actor_process_image_path": parent_image,
        "actor_process_image_name": parent_image.rsplit("\\", 1)[-1] if parent_image else None,
        "source_file": "sysmon.evtx",
        "source_record": str(record),
    }
    row.update(extra)
    return row


def _security_start(
    record: int,
    seconds: int,
    image: str,
    *,
    pid: int,
    parent_pid: int,
    parent_image: str | None,
    host: str = "WS05",
    **extra: Any,
) -> Row:
    row: Row = {
        "_time": T0 + timedelta(seconds=seconds),
        "event_id": f"{host.lower()}/Security/{record}",
        "event_type": "PROCESS",
        "event_sub_type": "PROCESS_START",
        "agent_os_type": "AGENT_OS_WINDOWS",
        "agent_hostname": host,
        "action_evtlog_event_id": 4688,
        "action_process_image_path": image,
        "action_process_image_name": image.rsplit("\\", 1)[-1],
        "action_process_image_command_line": f'"{image}"',
        "action_process_os_pid": pid,
        "actor_process_os_pid": parent_pid,
        "actor_process_image_path": parent_image,
        "actor_process_image_name": parent_image.rsplit("\\", 1)[-1] if parent_image else None,
        "source_file": "security.evtx",
        "source_record": str(record),
    }
    row.update(extra)
    return row


def _dataset(rows: list[Row]) -> Dataset:
    dataset = Dataset()
    dataset.add_all(rows)
    dataset.finalise()
    prepare_dataset(dataset)
    return dataset


def _alerts(rows: list[Row], catalog: Catalog, **options: Any) -> list[dict[str, Any]]:
    dataset = _dataset(rows)
    hunt_options = HuntOptions(**options)
    alerts = run_hunt(dataset, catalog, hunt_options)
    return enrich(dataset, catalog, hunt_options, alerts)


def _row(dataset: Dataset, event_id: str) -> dict[str, Any]:
    [row] = dataset.query("SELECT * FROM xdr_data WHERE event_id = ?", [event_id])
    return row


EXPLORER = "C:\\Windows\\explorer.exe"
WINWORD = "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE"
POWERSHELL = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
CMD = "C:\\Windows\\System32\\cmd.exe"
ANYDESK = "C:\\Users\\bob\\Downloads\\AnyDesk.exe"


def _guid_tree() -> list[Row]:
    """explorer -> WINWORD -> powershell -> AnyDesk, with every process reusing pid 4000.

    Only the GUIDs tell the processes apart, so a link by process id would pick wrong parents.
    """
    return [
        _sysmon_start(1, 0, EXPLORER, "{E}", "{USERINIT}", pid=4000, parent_pid=900),
        _sysmon_start(
            2,
            10,
            WINWORD,
            "{W}",
            "{E}",
            pid=4000,
            parent_pid=4000,
            parent_image=EXPLORER,
            action_process_username="CORP\\bob",
        ),
        _sysmon_start(
            3,
            20,
            POWERSHELL,
            "{P}",
            "{W}",
            pid=4000,
            parent_pid=4000,
            parent_image=WINWORD,
            action_process_username="CORP\\bob",
        ),
        _sysmon_start(
            4,
            30,
            ANYDESK,
            "{A}",
            "{P}",
            pid=4000,
            parent_pid=4000,
            parent_image=POWERSHELL,
            action_process_username="CORP\\bob",
        ),
    ]


def test_guid_tree_gives_chain_nearest_first(catalog: Catalog) -> None:
    [alert] = _alerts(_guid_tree(), catalog)

    chain = alert["causality_chain"]
    assert [entry["image_name"] for entry in chain] == [
        "powershell.exe",
        "WINWORD.EXE",
        "explorer.exe",
    ]
    assert [entry["instance_id"] for entry in chain] == ["{P}", "{W}", "{E}"]
    assert chain[0]["time"] == T0 + timedelta(seconds=20)
    assert chain[0]["os_pid"] == 4000
    assert chain[0]["username"] == "CORP\\bob"
    assert chain[0]["command_line"] == f'"{POWERSHELL}"'
    assert chain[0]["image_path"] == POWERSHELL


def test_guid_tree_causality_actor_stops_below_explorer(catalog: Catalog) -> None:
    [alert] = _alerts(_guid_tree(), catalog)

    assert alert["causality_actor_process_command_line"] == f'"{WINWORD}"'
    assert alert["causality_actor_primary_username"] == "CORP\\bob"
    assert alert["causality_actor_process_image_name"] == "WINWORD.EXE"


def test_guid_tree_fills_every_descendant() -> None:
    dataset = _dataset(_guid_tree())

    powershell = _row(dataset, "ws03/Microsoft-Windows-Sysmon/Operational/3")
    winword = _row(dataset, "ws03/Microsoft-Windows-Sysmon/Operational/2")
    assert powershell["causality_actor_process_instance_id"] == "{W}"
    assert winword["causality_actor_process_instance_id"] == "{W}"


def test_child_of_launcher_is_its_own_causality_actor() -> None:
    rows = [
        _sysmon_start(1, 0, "C:\\Windows\\System32\\services.exe", "{S}", None, pid=600),
        _sysmon_start(
            2,
            5,
            "C:\\Program Files\\TeamViewer\\TeamViewer_Service.exe",
            "{T}",
            "{S}",
            pid=700,
            parent_pid=600,
            parent_image="C:\\Windows\\System32\\services.exe",
        ),
    ]
    dataset = _dataset(rows)

    service = _row(dataset, "ws03/Microsoft-Windows-Sysmon/Operational/2")
    assert service["causality_actor_process_instance_id"] == "{T}"
    assert service["causality_actor_process_image_name"] == "TeamViewer_Service.exe"


def test_launcher_name_outside_windows_is_not_a_launcher(catalog: Catalog) -> None:
    fake_explorer = "C:\\Users\\bob\\AppData\\Local\\Temp\\explorer.exe"
    rows = [
        _sysmon_start(1, 0, WINWORD, "{W}", None, pid=10),
        _sysmon_start(2, 5, fake_explorer, "{X}", "{W}", pid=20, parent_pid=10),
        _sysmon_start(
            3, 9, ANYDESK, "{A}", "{X}", pid=30, parent_pid=20, parent_image=fake_explorer
        ),
    ]
    [alert] = _alerts(rows, catalog)

    assert alert["causality_actor_process_image_name"] == "WINWORD.EXE"


def test_existing_causality_columns_are_kept() -> None:
    rows = _guid_tree()
    rows[3]["causality_actor_process_image_name"] = "from-source.exe"
    dataset = _dataset(rows)

    anydesk = _row(dataset, "ws03/Microsoft-Windows-Sysmon/Operational/4")
    assert anydesk["causality_actor_process_image_name"] == "from-source.exe"
    assert anydesk["causality_actor_process_instance_id"] is None


def test_parent_user_filled_from_parent_start() -> None:
    dataset = _dataset(_guid_tree())

    anydesk = _row(dataset, "ws03/Microsoft-Windows-Sysmon/Operational/4")
    assert anydesk["actor_effective_username"] == "CORP\\bob"


def test_parent_user_from_source_is_kept() -> None:
    rows = _guid_tree()
    rows[3]["actor_effective_username"] = "CORP\\alice"
    dataset = _dataset(rows)

    anydesk = _row(dataset, "ws03/Microsoft-Windows-Sysmon/Operational/4")
    assert anydesk["actor_effective_username"] == "CORP\\alice"


def test_parent_user_stays_null_without_parent_start() -> None:
    rows = [_guid_tree()[3]]
    dataset = _dataset(rows)

    anydesk = _row(dataset, "ws03/Microsoft-Windows-Sysmon/Operational/4")
    assert anydesk["actor_effective_username"] is None


def _pid_reuse_rows() -> list[Row]:
    """Security 4688 on WS05, where process id 0x100 belongs first to notepad, then to WINWORD.

    cmd.exe (pid 0x200) starts after WINWORD took pid 0x100, so its parent is WINWORD. An earlier
    child of pid 0x100 belongs to notepad, and a start on another host must never be chosen.
    """
    notepad = "C:\\Windows\\System32\\notepad.exe"
    return [
        _security_start(1, 0, notepad, pid=0x100, parent_pid=0x50, parent_image=EXPLORER),
        _security_start(
            2,
            5,
            "C:\\Windows\\System32\\calc.exe",
            pid=0x150,
            parent_pid=0x100,
            parent_image=notepad,
        ),
        _security_start(
            3,
            60,
            WINWORD,
            pid=0x100,
            parent_pid=0x50,
            parent_image=EXPLORER,
            action_process_username="CORP\\eve",
        ),
        _security_start(4, 70, CMD, pid=0x200, parent_pid=0x100, parent_image=WINWORD),
        _security_start(5, 80, ANYDESK, pid=0x300, parent_pid=0x200, parent_image=CMD),
        _security_start(
            6, 75, POWERSHELL, pid=0x200, parent_pid=0x100, parent_image=WINWORD, host="WS06"
        ),
    ]


def test_pid_reuse_links_most_recent_start(catalog: Catalog) -> None:
    [alert] = _alerts(_pid_reuse_rows(), catalog)

    chain = alert["causality_chain"]
    assert [entry["image_name"] for entry in chain] == ["cmd.exe", "WINWORD.EXE", "explorer.exe"]
    assert chain[1]["time"] == T0 + timedelta(seconds=60)
    assert chain[1]["username"] == "CORP\\eve"
    # explorer's own start is not in the data, so the entry comes from WINWORD's event.
    assert chain[2]["time"] is None


def test_pid_reuse_earlier_child_keeps_old_parent() -> None:
    dataset = _dataset(_pid_reuse_rows())

    [link] = dataset.query(
        "SELECT p.action_process_image_name AS parent FROM process_links l "
        "JOIN xdr_data e ON e._row = l.event_row JOIN xdr_data p ON p._row = l.actor_row "
        "WHERE e.event_id = 'ws05/Security/2'"
    )
    assert link["parent"] == "notepad.exe"


def test_pid_link_never_crosses_hosts() -> None:
    dataset = _dataset(_pid_reuse_rows())

    links = dataset.query(
        "SELECT l.actor_row FROM process_links l JOIN xdr_data e ON e._row = l.event_row "
        "WHERE e.event_id = 'ws06/Security/6'"
    )
    assert links == []


def test_pid_link_rejects_other_image_name() -> None:
    # The most recent start of pid 0x100 is notepad, but the child names WINWORD as its parent,
    # so WINWORD's own start is missing and the child stays unlinked.
    rows = _pid_reuse_rows()[:2]
    rows.append(_security_start(7, 20, CMD, pid=0x210, parent_pid=0x100, parent_image=WINWORD))
    dataset = _dataset(rows)

    links = dataset.query(
        "SELECT l.actor_row FROM process_links l JOIN xdr_data e ON e._row = l.event_row "
        "WHERE e.event_id = 'ws05/Security/7'"
    )
    assert links == []


def test_pid_reuse_causality_actor_is_winword() -> None:
    dataset = _dataset(_pid_reuse_rows())

    anydesk = _row(dataset, "ws05/Security/5")
    assert anydesk["causality_actor_process_image_name"] == "WINWORD.EXE"
    assert anydesk["causality_actor_primary_username"] == "CORP\\eve"


def test_unknown_parent_gives_empty_chain(catalog: Catalog) -> None:
    row = _sysmon_start(1, 0, ANYDESK, "{A}", "{Q}", pid=30, parent_pid=20, parent_image="?")
    row["actor_process_image_name"] = "?"
    row["actor_process_command_line"] = "?"
    [alert] = _alerts([row], catalog)

    assert alert["causality_chain"] == []
    assert alert["causality_actor_process_image_name"] == "AnyDesk.exe"


def test_parent_cycle_stops(catalog: Catalog) -> None:
    rows = [
        _sysmon_start(1, 0, CMD, "{C}", "{A}", pid=10, parent_pid=30),
        _sysmon_start(2, 5, ANYDESK, "{A}", "{C}", pid=30, parent_pid=10),
    ]
    [alert] = _alerts(rows, catalog)

    assert [entry["instance_id"] for entry in alert["causality_chain"]] == ["{C}"]


@pytest.mark.parametrize(
    ("name", "path", "expected"),
    [
        ("services.exe", "C:\\Windows\\System32\\services.exe", True),
        ("svchost.exe", "\\Device\\HarddiskVolume2\\Windows\\System32\\svchost.exe", True),
        ("smss.exe", "\\SystemRoot\\System32\\smss.exe", True),
        ("Explorer.EXE", None, True),
        ("System", None, True),
        ("explorer.exe", "C:\\Users\\bob\\explorer.exe", False),
        ("cmd.exe", "C:\\Windows\\System32\\cmd.exe", False),
        (None, None, False),
    ],
)
def test_is_launcher(name: str | None, path: str | None, expected: bool) -> None:
    assert is_launcher(name, path) is expected


def test_launchers_are_documented() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "causality.md").read_text("utf-8")
    missing = [name for name in sorted(LAUNCHERS) if f"`{name}`" not in text]
    assert missing == []
