"""map_win_event on hand-built events, one or more per mapped Windows event ID."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from rmmhunt.readers.winevent import WinEvent, map_win_event, task_exec_commands
from rmmhunt.schema import COLUMN_NAMES, Row

SYSMON = ("Microsoft-Windows-Sysmon/Operational", "Microsoft-Windows-Sysmon")
SECURITY = ("Security", "Microsoft-Windows-Security-Auditing")
SYSTEM = ("System", "Service Control Manager")
TASKS = ("Microsoft-Windows-TaskScheduler/Operational", "Microsoft-Windows-TaskScheduler")
CREATED = datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)


def make(source: tuple[str, str], event_id: int, data: Mapping[str, object]) -> WinEvent:
    channel, provider = source
    return WinEvent(
        channel=channel,
        event_id=event_id,
        provider=provider,
        computer="WS01.corp.example",
        record_id=42,
        time_created=CREATED,
        data=data,
    )


def mapped(event: WinEvent) -> Row:
    result = map_win_event(event, source_format="test", source_file="f.evtx", source_record="42")
    assert isinstance(result, dict), result
    assert set(result) <= COLUMN_NAMES
    return result


SYSMON_1 = {
    "UtcTime": "2024-05-01 09:59:58.500",
    "ProcessGuid": "{11111111-2222-3333-4444-555555555555}",
    "ProcessId": 4242,
    "Image": "C:\\Program Files (x86)\\AnyDesk\\AnyDesk.exe",
    "CommandLine": '"C:\\Program Files (x86)\\AnyDesk\\AnyDesk.exe" --control',
    "User": "CORP\\alice",
    "OriginalFileName": "AnyDesk.exe",
    "Description": "AnyDesk",
    "Product": "AnyDesk",
    "Company": "AnyDesk Software GmbH",
    "Hashes": "SHA1=AA,MD5=0123456789ABCDEF0123456789ABCDEF,SHA256=ABCDEF01,IMPHASH=FF",
    "ParentProcessGuid": "{66666666-2222-3333-4444-555555555555}",
    "ParentProcessId": 1000,
    "ParentImage": "C:\\Windows\\explorer.exe",
    "ParentCommandLine": "C:\\Windows\\Explorer.EXE",
    "ParentUser": "CORP\\bob",
}


def test_sysmon_1_action_is_created_process() -> None:
    row = mapped(make(SYSMON, 1, SYSMON_1))
    assert row["event_type"] == "PROCESS"
    assert row["event_sub_type"] == "PROCESS_START"
    assert row["action_process_image_name"] == "AnyDesk.exe"
    assert row["action_process_image_path"] == "C:\\Program Files (x86)\\AnyDesk\\AnyDesk.exe"
    assert row["action_process_image_command_line"] == SYSMON_1["CommandLine"]
    assert row["action_process_os_pid"] == 4242
    assert row["action_process_username"] == "CORP\\alice"
    assert row["action_process_image_sha256"] == "abcdef01"
    assert row["action_process_image_md5"] == "0123456789abcdef0123456789abcdef"
    assert row["action_process_original_file_name"] == "AnyDesk.exe"
    assert row["action_process_file_company"] == "AnyDesk Software GmbH"


def test_sysmon_1_image_field_not_derived() -> None:
    row = mapped(make(SYSMON, 1, SYSMON_1))
    assert row.get("action_process_image_name_derived") is None


def test_sysmon_1_without_image_derives_name() -> None:
    data = {key: value for key, value in SYSMON_1.items() if key != "Image"}
    row = mapped(make(SYSMON, 1, data))
    assert row["action_process_image_name"] == "AnyDesk.exe"
    assert row["action_process_image_name_derived"] is True
    assert row.get("action_process_image_path") is None


def test_sysmon_1_actor_is_parent() -> None:
    row = mapped(make(SYSMON, 1, SYSMON_1))
    assert row["actor_process_image_name"] == "explorer.exe"
    assert row["actor_process_command_line"] == "C:\\Windows\\Explorer.EXE"
    assert row["actor_process_os_pid"] == 1000
    assert row["actor_process_instance_id"] == "{66666666-2222-3333-4444-555555555555}"
    assert row["actor_effective_username"] == "CORP\\bob"


def test_sysmon_1_identity_and_time() -> None:
    row = mapped(make(SYSMON, 1, SYSMON_1))
    assert row["event_id"] == "ws01/Microsoft-Windows-Sysmon/Operational/42"
    assert row["action_evtlog_event_id"] == 1
    assert row["agent_hostname"] == "WS01.corp.example"
    assert row["agent_os_type"] == "AGENT_OS_WINDOWS"
    assert row["_product"] == "Sysmon"
    assert row["_vendor"] == "Microsoft"
    assert row["_time"] == datetime(2024, 5, 1, 9, 59, 58, 500000, tzinfo=UTC)
    assert row["evtlog_record_id"] == 42


def test_sysmon_1_without_utctime_uses_time_created() -> None:
    data = {k: v for k, v in SYSMON_1.items() if k != "UtcTime"}
    assert mapped(make(SYSMON, 1, data))["_time"] == CREATED


def test_event_without_any_time_is_kept() -> None:
    event = WinEvent("Security", 4688, None, None, None, None, {"NewProcessName": "C:\\a.exe"})
    row = mapped(event)
    assert row["_time"] is None
    assert row["event_id"] == "/Security/"


def test_sysmon_1_without_image_or_command_line() -> None:
    result = map_win_event(
        make(SYSMON, 1, {"ProcessId": 1}), source_format="t", source_file="f", source_record="1"
    )
    assert result == "missing_required_field"


def test_unknown_event_is_not_used() -> None:
    result = map_win_event(
        make(SECURITY, 4624, {}), source_format="t", source_file="f", source_record="1"
    )
    assert result == "event_not_used"


def test_4688_new_field_set() -> None:
    data = {
        "SubjectUserName": "FS01$",
        "SubjectDomainName": "OFFSEC",
        "NewProcessId": "0x3d0",
        "NewProcessName": "C:\\Windows\\System32\\cmd.exe",
        "ProcessId": "0x414",
        "CommandLine": "cmd.exe /C whoami",
        "TargetUserName": "alice",
        "TargetDomainName": "OFFSEC",
        "ParentProcessName": "C:\\Windows\\System32\\svchost.exe",
        "MandatoryLabel": "S-1-16-16384",
    }
    row = mapped(make(SECURITY, 4688, data))
    assert row["event_sub_type"] == "PROCESS_START"
    assert row["action_process_image_name"] == "cmd.exe"
    assert row["action_process_os_pid"] == 0x3D0
    assert row["actor_process_os_pid"] == 0x414
    assert row["actor_process_image_name"] == "svchost.exe"
    assert row["action_process_username"] == "OFFSEC\\alice"
    assert row["actor_effective_username"] == "OFFSEC\\FS01$"
    assert row["_product"] == "Windows Security Auditing"


def test_4688_old_field_set_leaves_target_user_null() -> None:
    data = {
        "SubjectUserName": "admin",
        "SubjectDomainName": "EXAMPLE",
        "NewProcessId": "0x1fc",
        "NewProcessName": "C:\\Windows\\System32\\TSTheme.exe",
        "ProcessId": "0x278",
        "CommandLine": "",
    }
    row = mapped(make(SECURITY, 4688, data))
    assert row["action_process_username"] is None
    assert row["actor_process_image_path"] is None
    assert row["action_process_image_command_line"] is None
    assert row["actor_effective_username"] == "EXAMPLE\\admin"


def test_7045_service_install() -> None:
    data = {
        "ServiceName": "AnyDesk Service",
        "ImagePath": '"C:\\Program Files (x86)\\AnyDesk\\AnyDesk.exe" --service',
        "ServiceType": "user mode service",
        "StartType": "auto start",
        "AccountName": "LocalSystem",
    }
    row = mapped(make(SYSTEM, 7045, data))
    assert row["event_type"] == "EVENT_LOG"
    assert row["event_sub_type"] is None
    assert row["action_evtlog_event_id"] == 7045
    assert row["action_service_name"] == "AnyDesk Service"
    assert row["action_service_image_path"] == data["ImagePath"]
    assert row["action_process_image_path"] == "C:\\Program Files (x86)\\AnyDesk\\AnyDesk.exe"
    assert row["action_process_image_name"] == "AnyDesk.exe"
    assert row["action_process_image_command_line"] == data["ImagePath"]
    assert row["action_service_start_type"] == "auto start"
    assert row["action_service_account"] == "LocalSystem"
    assert row["_product"] == "Service Control Manager"


def test_4697_numeric_types_become_names() -> None:
    data = {
        "SubjectUserName": "admmig",
        "SubjectDomainName": "OFFSEC",
        "ServiceName": "drv",
        "ServiceFileName": "\\SystemRoot\\System32\\drivers\\x.sys",
        "ServiceType": "0x1",
        "ServiceStartType": 2,
        "ServiceAccount": "LocalSystem",
    }
    row = mapped(make(SECURITY, 4697, data))
    assert row["action_service_type"] == "kernel mode driver"
    assert row["action_service_start_type"] == "auto start"
    assert row["action_process_image_name"] == "x.sys"
    assert row["actor_effective_username"] == "OFFSEC\\admmig"
    assert row["event_type"] == "EVENT_LOG"


def test_sysmon_3_actor_is_connecting_process() -> None:
    data = {
        "Image": "C:\\Tools\\plink.exe",
        "ProcessGuid": "{g}",
        "ProcessId": 7,
        "User": "CORP\\alice",
        "Protocol": "tcp",
        "SourceIp": "10.0.0.5",
        "SourcePort": 50000,
        "DestinationIp": "192.0.2.1",
        "DestinationPort": 22,
        "DestinationHostname": "relay.example",
    }
    row = mapped(make(SYSMON, 3, data))
    assert row["event_type"] == "NETWORK"
    assert row["event_sub_type"] == "NETWORK_CONNECTION"
    assert row["actor_process_image_name"] == "plink.exe"
    assert row["actor_process_username"] == "CORP\\alice"
    assert row.get("action_process_image_name") is None
    assert row["action_remote_port"] == 22
    assert row["action_local_ip"] == "10.0.0.5"
    assert row["action_external_hostname"] == "relay.example"
    assert row["action_network_protocol"] == "tcp"


def test_sysmon_22_dns_query() -> None:
    row = mapped(make(SYSMON, 22, {"QueryName": "relay.anydesk.com", "Image": "C:\\a\\b.exe"}))
    assert row["event_sub_type"] == "DNS_QUERY"
    assert row["dns_query_name"] == "relay.anydesk.com"
    assert row["actor_process_image_name"] == "b.exe"


def test_sysmon_11_file_create() -> None:
    row = mapped(make(SYSMON, 11, {"TargetFilename": "C:\\x.dll", "Image": "C:\\a\\b.exe"}))
    assert row["event_type"] == "FILE"
    assert row["event_sub_type"] == "FILE_CREATE"
    assert row["action_file_path"] == "C:\\x.dll"


def test_sysmon_registry_events() -> None:
    key = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\agent"
    for event_id, sub_type in [
        (12, "REGISTRY_CREATE_KEY"),
        (13, "REGISTRY_SET_VALUE"),
        (14, "REGISTRY_RENAME"),
    ]:
        row = mapped(make(SYSMON, event_id, {"TargetObject": key, "Details": "C:\\a.exe"}))
        assert row["event_type"] == "REGISTRY"
        assert row["event_sub_type"] == sub_type
        assert row["action_registry_key_name"] == key
        assert row["action_registry_value_name"] == "agent"
        assert row["action_registry_data"] == "C:\\a.exe"


def test_sysmon_5_process_end_is_action() -> None:
    row = mapped(make(SYSMON, 5, {"Image": "C:\\a\\AnyDesk.exe", "ProcessId": 3}))
    assert row["event_sub_type"] == "PROCESS_END"
    assert row["action_process_image_name"] == "AnyDesk.exe"


def test_sysmon_10_target_is_not_actor() -> None:
    data = {"SourceImage": "C:\\a\\src.exe", "TargetImage": "C:\\Windows\\lsass.exe"}
    row = mapped(make(SYSMON, 10, data))
    assert row["event_sub_type"] == "PROCESS_ACCESS"
    assert row["actor_process_image_name"] == "src.exe"
    assert row["target_process_image_path"] == "C:\\Windows\\lsass.exe"
    assert row.get("action_process_image_name") is None


def test_sysmon_7_image_load() -> None:
    row = mapped(make(SYSMON, 7, {"Image": "C:\\a\\b.exe", "ImageLoaded": "C:\\a\\c.dll"}))
    assert row["actor_process_image_name"] == "b.exe"
    assert row["action_file_path"] == "C:\\a\\c.dll"


TASK_XML = (
    '<?xml version="1.0" encoding="UTF-16"?>\r\n<Task version="1.2" '
    'xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task"><Actions Context="Author">'
    "<Exec><Command>cmd.exe</Command><Arguments>/C tasklist &gt; x.tmp 2&gt;&amp;1</Arguments>"
    "</Exec></Actions></Task>"
)


def test_4698_task_command_from_exec() -> None:
    data = {"TaskName": "\\CYAlyNSS", "TaskContent": TASK_XML, "SubjectUserName": "Administrator"}
    row = mapped(make(SECURITY, 4698, data))
    assert row["event_type"] == "EVENT_LOG"
    assert row["action_task_name"] == "\\CYAlyNSS"
    assert row["action_task_command"] == "cmd.exe /C tasklist > x.tmp 2>&1"


def test_task_xml_entities_are_not_expanded() -> None:
    hostile = (
        '<!DOCTYPE t [<!ENTITY a "aaaaaaaaaa">]><Task><Actions><Exec>'
        "<Command>&a;</Command></Exec></Actions></Task>"
    )
    assert task_exec_commands(hostile) is None


def test_task_scheduler_106_and_129() -> None:
    registered = mapped(make(TASKS, 106, {"TaskName": "\\Agent", "UserContext": "CORP\\alice"}))
    assert registered["action_task_name"] == "\\Agent"
    assert registered["actor_effective_username"] == "CORP\\alice"
    assert registered["_product"] == "Task Scheduler"

    data = {"TaskName": "\\Agent", "Path": "C:\\ProgramData\\agent.exe", "ProcessID": 99}
    launched = mapped(make(TASKS, 129, data))
    assert launched["action_task_command"] == "C:\\ProgramData\\agent.exe"
    assert launched["action_process_os_pid"] == 99


def test_channel_identifies_provider_when_missing() -> None:
    event = WinEvent("Security", 4688, None, "h", 1, CREATED, {"NewProcessName": "C:\\a.exe"})
    assert mapped(event)["_product"] == "Windows Security Auditing"
