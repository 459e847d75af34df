"""The approved-software inventory: loading YAML and CSV, errors, and matching alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rmmhunt.catalog import load_catalog
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.errors import InventoryError
from rmmhunt.inventory import (
    Approval,
    Inventory,
    apply_inventory,
    load_column_mapping,
    load_inventory,
    parse_column_mapping,
)

NOW = datetime(2025, 3, 15, 12, 0, tzinfo=UTC)
TEAMVIEWER_PATH = r"C:\Program Files\TeamViewer\TeamViewer_Service.exe"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _alert(**fields: Any) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "_time": datetime(2025, 3, 12, 9, 0, tzinfo=UTC),
        "kind": "process_start",
        "tool": "TeamViewer",
        "tool_id": "teamviewer",
        "agent_hostname": "WS01.corp.local",
        "action_process_image_path": TEAMVIEWER_PATH,
        "action_process_username": r"NT AUTHORITY\SYSTEM",
        "actor_effective_username": r"NT AUTHORITY\SYSTEM",
        "actor_process_image_name": "services.exe",
    }
    alert.update(fields)
    return alert


def _status(approval: Approval, alert: dict[str, Any]) -> dict[str, Any]:
    apply_inventory([alert], Inventory((approval,), source="test.yaml"), now=NOW)
    return dict(alert["approval"])


# Loading


def test_yaml_inventory_resolves_tools(fixtures: Path, catalog: Catalog) -> None:
    inventory = load_inventory(fixtures / "inventory" / "approvals.yaml", catalog=catalog)

    first, second = inventory.approvals
    assert first.id == "tv-managed"
    assert first.tool_id == "teamviewer"
    assert first.line == 3
    assert first.valid_until == datetime(2025, 6, 30, 23, 59, 59, 999999, tzinfo=UTC)
    assert second.id == "anydesk-2"
    assert second.tool_id == "anydesk"
    assert second.hosts == ("KIOSK-01",)
    assert second.line == 12


def test_csv_inventory_with_mapping_file(fixtures: Path, catalog: Catalog) -> None:
    columns = load_column_mapping(fixtures / "inventory" / "columns.yaml")
    inventory = load_inventory(
        fixtures / "inventory" / "export.csv", catalog=catalog, columns=columns
    )

    teamviewer, screenconnect = inventory.approvals
    assert teamviewer.tool_id == "teamviewer"
    assert teamviewer.hosts == ("WS*", "SRV-01")
    assert teamviewer.paths == (r"C:\Program Files\TeamViewer\**",)
    assert teamviewer.ticket == "CHG-2"
    assert teamviewer.line == 2
    assert screenconnect.tool_id == "screenconnect"
    assert screenconnect.hosts == ("HR-*", "FIN-*")
    assert screenconnect.paths == ()
    assert screenconnect.line == 3


def test_column_mapping_text_parses() -> None:
    assert parse_column_mapping("tool=Software, hosts = Computer") == {
        "tool": "Software",
        "hosts": "Computer",
    }


def test_column_mapping_rejects_unknown_field() -> None:
    with pytest.raises(InventoryError, match="unknown inventory field"):
        parse_column_mapping("tool=Software,computer=Host")


def test_csv_without_mapping_rejects_header(fixtures: Path, catalog: Catalog) -> None:
    with pytest.raises(InventoryError) as raised:
        load_inventory(fixtures / "inventory" / "export.csv", catalog=catalog)

    assert raised.value.line == 1
    assert "unknown column 'Software'" in raised.value.message


def test_yaml_misspelt_field_names_its_line(fixtures: Path, catalog: Catalog) -> None:
    with pytest.raises(InventoryError) as raised:
        load_inventory(fixtures / "inventory" / "invalid_field.yaml", catalog=catalog)

    assert raised.value.line == 6
    assert "host" in raised.value.message
    assert str(raised.value).startswith(str(fixtures / "inventory" / "invalid_field.yaml") + ":6")


def test_csv_unknown_tool_names_its_line(fixtures: Path, catalog: Catalog) -> None:
    with pytest.raises(InventoryError) as raised:
        load_inventory(fixtures / "inventory" / "unknown_tool.csv", catalog=catalog)

    assert raised.value.line == 3
    assert "unknown tool 'TeemViewer'" in raised.value.message
    assert raised.value.hint is not None
    assert "teamviewer" in raised.value.hint


def test_invalid_yaml_names_its_line(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\napprovals:\n  - tool: teamviewer\n    hosts: [WS01\n")

    with pytest.raises(InventoryError) as raised:
        load_inventory(path, catalog=catalog)

    assert raised.value.line is not None
    assert raised.value.line >= 4
    assert "invalid YAML" in raised.value.message


def test_missing_inventory_file_is_an_error(tmp_path: Path, catalog: Catalog) -> None:
    with pytest.raises(InventoryError, match="not found"):
        load_inventory(tmp_path / "absent.yaml", catalog=catalog)


# Matching


def test_matching_alert_is_suppressed() -> None:
    approval = Approval(
        id="tv", tool_id="teamviewer", hosts=("WS*",), parents=("services.exe",), reason="IT"
    )
    alert = _alert()

    kept, suppressed = apply_inventory([alert], Inventory((approval,)), now=NOW)

    assert kept == []
    assert suppressed == [alert]
    assert alert["approval"]["status"] == "approved"
    assert alert["approval"]["approval_id"] == "tv"
    assert "covered by approval tv (IT)" in alert["approval"]["reason"]


def test_approval_never_widens_to_other_tools() -> None:
    approval = Approval(id="tv-everywhere", tool_id="teamviewer")
    alert = _alert(tool="AnyDesk", tool_id="anydesk")

    status = _status(approval, alert)

    assert status["status"] == "not_approved"
    assert status["approval_id"] is None


def test_no_inventory_leaves_status_unknown() -> None:
    alert = _alert()

    kept, suppressed = apply_inventory([alert], None, now=NOW)

    assert kept == [alert]
    assert suppressed == []
    assert alert["approval"] is None


@pytest.mark.parametrize(
    ("approval_fields", "alert_fields", "mismatch"),
    [
        ({"hosts": ("SRV-*",)}, {}, "another_host"),
        ({"users": ("svc_tv",)}, {}, "another_user"),
        ({"paths": (r"C:\Program Files (x86)\TeamViewer\**",)}, {}, "another_path"),
        (
            {"signers": ("TeamViewer Germany GmbH",)},
            {"action_process_signature_vendor": "Evil Corp"},
            "another_signer",
        ),
        (
            {"signers": ("TeamViewer Germany GmbH",)},
            {
                "action_process_signature_vendor": "TeamViewer Germany GmbH",
                "action_process_signature_status": "invalid",
            },
            "another_signer",
        ),
        ({"parents": ("services.exe",)}, {"actor_process_image_name": "cmd.exe"}, "another_parent"),
        ({"valid_until": datetime(2025, 3, 1, tzinfo=UTC)}, {}, "expired"),
        ({"valid_from": datetime(2025, 4, 1, tzinfo=UTC)}, {}, "not_yet_valid"),
    ],
)
def test_unmatched_field_marks_outside_approval(
    approval_fields: dict[str, Any], alert_fields: dict[str, Any], mismatch: str
) -> None:
    approval = Approval(id="tv", tool_id="teamviewer", **approval_fields)

    status = _status(approval, _alert(**alert_fields))

    assert status["status"] == "outside_approval"
    assert status["mismatches"] == [mismatch]
    assert status["approval_id"] == "tv"


def test_every_given_field_must_match() -> None:
    approval = Approval(
        id="tv", tool_id="teamviewer", hosts=("WS01",), paths=(r"C:\Program Files\TeamViewer\**",)
    )

    status = _status(approval, _alert(action_process_image_path=r"C:\Users\Public\tv.exe"))

    assert status["status"] == "outside_approval"
    assert status["mismatches"] == ["another_path"]


def test_closest_approval_explains_mismatch() -> None:
    far = Approval(id="far", tool_id="teamviewer", hosts=("SRV-*",), parents=("msiexec.exe",))
    near = Approval(id="near", tool_id="teamviewer", hosts=("SRV-*",))
    alert = _alert()

    apply_inventory([alert], Inventory((far, near)), now=NOW)

    assert alert["approval"]["approval_id"] == "near"
    assert alert["approval"]["mismatches"] == ["another_host"]


def test_brackets_in_paths_are_literal() -> None:
    approval = Approval(id="tools", tool_id="anydesk", paths=(r"C:\Tools\Remote[1]\AnyDesk.exe",))

    literal = _status(
        approval,
        _alert(tool_id="anydesk", action_process_image_path=r"C:\Tools\Remote[1]\AnyDesk.exe"),
    )
    as_class = _status(
        approval,
        _alert(tool_id="anydesk", action_process_image_path=r"C:\Tools\Remote1\AnyDesk.exe"),
    )

    assert literal["status"] == "approved"
    assert as_class["status"] == "outside_approval"


def test_brackets_in_host_globs_are_literal() -> None:
    approval = Approval(id="lab", tool_id="teamviewer", hosts=("LAB[1]",))

    assert _status(approval, _alert(agent_hostname="LAB[1]"))["status"] == "approved"
    assert _status(approval, _alert(agent_hostname="LAB1"))["status"] == "outside_approval"


@pytest.mark.parametrize(
    "path",
    [
        r"c:\program files\teamviewer\teamviewer_service.exe",
        "C:/Program Files/TeamViewer/TeamViewer_Service.exe",
        r"\Device\HarddiskVolume3\Program Files\TeamViewer\TeamViewer_Service.exe",
        r"\\?\C:\Program Files\TeamViewer\TeamViewer_Service.exe",
        r'"C:\PROGRAM FILES\TeamViewer\TeamViewer_Service.exe"',
    ],
)
def test_path_spelling_does_not_matter(path: str) -> None:
    approval = Approval(id="tv", tool_id="teamviewer", paths=(r"C:\Program Files\TeamViewer\**",))

    assert _status(approval, _alert(action_process_image_path=path))["status"] == "approved"


def test_dot_segments_do_not_widen_path() -> None:
    approval = Approval(id="tv", tool_id="teamviewer", paths=(r"C:\Program Files\TeamViewer\**",))
    escaped = r"C:\Program Files\TeamViewer\..\..\Users\Public\TeamViewer_Service.exe"
    alert = _alert(kind="service_install", action_service_image_path=f'"{escaped}" --service')

    status = _status(approval, alert)

    assert status["status"] == "outside_approval"
    assert status["mismatches"] == ["another_path"]


def test_approval_expires_after_its_last_day(catalog: Catalog, tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text("approvals:\n  - tool: teamviewer\n    valid_until: 2025-03-12\n")
    inventory = load_inventory(path, catalog=catalog)
    last_minute = _alert(_time=datetime(2025, 3, 12, 23, 59, tzinfo=UTC))
    next_day = _alert(_time=datetime(2025, 3, 13, 0, 0, 1, tzinfo=UTC))

    apply_inventory([last_minute, next_day], inventory, now=NOW)

    assert last_minute["approval"]["status"] == "approved"
    assert next_day["approval"]["status"] == "outside_approval"
    assert next_day["approval"]["mismatches"] == ["expired"]


def test_alert_without_time_uses_now() -> None:
    approval = Approval(id="tv", tool_id="teamviewer", valid_until=datetime(2025, 3, 1, tzinfo=UTC))
    alert = _alert(_time=None)

    assert _status(approval, alert)["mismatches"] == ["expired"]


def test_service_install_matches_service_path() -> None:
    approval = Approval(id="tv", tool_id="teamviewer", paths=(r"C:\Program Files\TeamViewer\**",))
    alert = _alert(
        kind="service_install",
        action_process_image_path=None,
        action_service_image_path=f'"{TEAMVIEWER_PATH}" --service',
    )

    assert _status(approval, alert)["status"] == "approved"


def test_user_glob_compares_account_name() -> None:
    approval = Approval(id="tv", tool_id="teamviewer", users=("system",))

    assert _status(approval, _alert())["status"] == "approved"
    assert _status(approval, _alert(actor_effective_username=r"CORP\bob"))["mismatches"] == [
        "another_user"
    ]


def test_service_path_variables_expanded() -> None:
    approval = Approval(id="psexec", tool_id="psexec", paths=(r"C:\Windows\PSEXESVC.exe",))
    alert = _alert(
        kind="service_install",
        tool_id="psexec",
        action_process_image_path=r"%SystemRoot%\PSEXESVC.exe",
        action_service_image_path=r"%SystemRoot%\PSEXESVC.exe",
    )

    assert _status(approval, alert)["status"] == "approved"


def test_activity_alert_uses_launch_context() -> None:
    approval = Approval(
        id="tv",
        tool_id="teamviewer",
        paths=(r"C:\Program Files\TeamViewer\**",),
        parents=("services.exe",),
    )
    alert = _alert(
        kind="rmm_activity",
        action_process_image_path=r"C:\Windows\System32\cmd.exe",
        actor_process_image_name="TeamViewer_Service.exe",
        launch_context={
            "image_path": TEAMVIEWER_PATH,
            "parent": {"image_name": "services.exe", "image_path": None, "class": None},
        },
    )

    assert _status(approval, alert)["status"] == "approved"


def test_activity_alert_ignores_child_account() -> None:
    approval = Approval(id="tv", tool_id="teamviewer", users=("system",))
    alert = _alert(kind="rmm_activity", action_process_username=r"CORP\bob")

    assert _status(approval, alert)["status"] == "approved"


def test_unknown_parent_in_context_mismatches() -> None:
    approval = Approval(id="tv", tool_id="teamviewer", parents=("services.exe",))
    alert = _alert(launch_context={"image_path": TEAMVIEWER_PATH, "parent": None})

    status = _status(approval, alert)

    assert status["mismatches"] == ["another_parent"]
    assert "(none recorded)" in status["reason"]


def test_service_install_checks_service_account() -> None:
    approval = Approval(id="tv", tool_id="teamviewer", users=("LocalSystem",))
    alert = _alert(
        kind="service_install",
        action_process_username=None,
        actor_effective_username=None,
        action_service_account="LocalSystem",
    )

    assert _status(approval, alert)["status"] == "approved"


# Parents: a path pattern compares the full path, a bare name the base name

SERVICES = r"C:\Windows\System32\services.exe"


@pytest.mark.parametrize(
    ("parent_path", "expected"),
    [
        (SERVICES, "approved"),
        (r"\Device\HarddiskVolume3\Windows\System32\SERVICES.EXE", "approved"),
        (r"C:\Users\Public\services.exe", "outside_approval"),
        (r"C:\Windows\System32\..\..\Users\Public\services.exe", "outside_approval"),
        (None, "outside_approval"),
    ],
)
def test_parent_path_compares_full_path(parent_path: str | None, expected: str) -> None:
    approval = Approval(id="tv", tool_id="teamviewer", parents=(SERVICES,))
    alert = _alert(actor_process_image_name="services.exe", actor_process_image_path=parent_path)

    assert _status(approval, alert)["status"] == expected


def test_parent_path_in_launch_context() -> None:
    approval = Approval(id="tv", tool_id="teamviewer", parents=(SERVICES,))
    parent = {"image_name": "services.exe", "image_path": r"C:\Users\Public\services.exe"}
    alert = _alert(launch_context={"image_path": TEAMVIEWER_PATH, "parent": parent})

    status = _status(approval, alert)

    assert status["mismatches"] == ["another_parent"]
    assert r"C:\Users\Public\services.exe" in status["reason"]


def test_parent_bare_name_compares_base_name() -> None:
    approval = Approval(id="tv", tool_id="teamviewer", parents=("services.exe",))
    alert = _alert(actor_process_image_path=r"C:\Users\Public\services.exe")

    assert _status(approval, alert)["status"] == "approved"


# Hosts: a full name compares in full, a bare name with the short name in a known domain


@pytest.mark.parametrize(
    ("hosts", "host", "expected"),
    [
        (("WS01",), "WS01", "approved"),
        (("WS01",), "ws01.corp.local", "approved"),
        # Without a full name, the approval gives no domain, so a bare name trusts every domain.
        (("WS01",), "WS01.evil.example", "approved"),
        (("WS01",), "WS02.corp.local", "outside_approval"),
        (("WS01.corp.local",), "WS01.corp.local.", "approved"),
        (("WS01.corp.local",), "WS01", "outside_approval"),
        (("WS01.corp.local",), "WS01.evil.example", "outside_approval"),
        (("WS01.corp.local",), "WS01.corp.local.evil.example", "outside_approval"),
        (("WS*.corp.local",), "WS07.corp.local", "approved"),
        (("WS*.corp.local",), "WS07.evil.example", "outside_approval"),
        (("*.corp.local",), "SRV01.corp.local.evil.example", "outside_approval"),
        # A full name gives the approval's domain, which then pins its bare names.
        (("WS01", "SRV01.corp.local"), "WS01.corp.local", "approved"),
        (("WS01", "SRV01.corp.local"), "WS01", "approved"),
        (("WS01", "SRV01.corp.local"), "WS01.evil.example", "outside_approval"),
        (("WS01", "*.corp.local"), "WS01.evil.example", "outside_approval"),
    ],
)
def test_host_domain_rule(hosts: tuple[str, ...], host: str, expected: str) -> None:
    approval = Approval(id="tv", tool_id="teamviewer", hosts=hosts)

    assert _status(approval, _alert(agent_hostname=host))["status"] == expected


# Users: a bare account name compares under any domain, a qualified one in full


@pytest.mark.parametrize(
    ("pattern", "user", "expected"),
    [
        ("helpdesk", r"CORP\helpdesk", "approved"),
        ("helpdesk", r"WS01\helpdesk", "approved"),
        ("helpdesk", "helpdesk@evil.example", "approved"),
        (r"CORP\helpdesk", r"corp\HELPDESK", "approved"),
        (r"CORP\helpdesk", r"WS01\helpdesk", "outside_approval"),
        (r"CORP\helpdesk", "helpdesk@corp.local", "outside_approval"),
        ("helpdesk@corp.local", "helpdesk@corp.local", "approved"),
        ("helpdesk@corp.local", "helpdesk@evil.example", "outside_approval"),
    ],
)
def test_user_domain_rule(pattern: str, user: str, expected: str) -> None:
    approval = Approval(id="tv", tool_id="teamviewer", users=(pattern,))
    alert = _alert(action_process_username=user, actor_effective_username=user)

    assert _status(approval, alert)["status"] == expected
