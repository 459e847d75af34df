"""Round trips of tools/evtxwriter.py through pyevtx-rs, and the bundled example's bytes."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import struct
import subprocess
import sys
import warnings
import zlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import evtx
import pytest

REPOSITORY = Path(__file__).resolve().parents[1]


def _load_writer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("evtxwriter", REPOSITORY / "tools/evtxwriter.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["evtxwriter"] = module
    spec.loader.exec_module(module)
    return module


ew = _load_writer()

SYSMON = "Microsoft-Windows-Sysmon/Operational"
SYSMON_PROVIDER = "Microsoft-Windows-Sysmon"
SECURITY_PROVIDER = "Microsoft-Windows-Security-Auditing"
T0 = datetime(2025, 3, 4, 9, 15, 30, 123456, tzinfo=UTC)

SYSMON_1 = {
    "RuleName": "-",
    "UtcTime": "2025-03-04 09:15:30.123",
    "ProcessGuid": "{6a1b2c3d-0001-67c6-2a00-000000000a00}",
    "ProcessId": "4242",
    "Image": r"C:\Users\bob\Downloads\AnyDesk.exe",
    "FileVersion": "8.0.8",
    "Description": "AnyDesk",
    "Product": "AnyDesk",
    "Company": "AnyDesk Software GmbH",
    "OriginalFileName": "AnyDesk.exe",
    "CommandLine": r'"C:\Users\bob\Downloads\AnyDesk.exe" --install "C:\ProgramData\AnyDesk"',
    "CurrentDirectory": "C:\\Users\\bob\\Downloads\\",
    "User": r"CORP\bob",
    "LogonGuid": "{6a1b2c3d-0000-67c6-3b1d-050000000000}",
    "LogonId": "0x51d3b",
    "TerminalSessionId": "1",
    "IntegrityLevel": "High",
    "Hashes": "SHA256=" + "ab" * 32,
    "ParentProcessGuid": "{6a1b2c3d-0002-67c6-2900-000000000a00}",
    "ParentProcessId": "4100",
    "ParentImage": r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
    "ParentCommandLine": "powershell.exe -nop -w hidden",
    "ParentUser": r"CORP\bob",
}
SYSMON_1_WITHOUT_PARENT_USER = {
    key: value for key, value in SYSMON_1.items() if key != "ParentUser"
}
SECURITY_4688_OLD = {
    "SubjectUserSid": "S-1-5-21-1004336348-1177238915-682003330-1104",
    "SubjectUserName": "bob",
    "SubjectDomainName": "CORP",
    "SubjectLogonId": "0x51d3b",
    "NewProcessId": "0x1a2c",
    "NewProcessName": r"C:\Users\bob\Downloads\AnyDesk.exe",
    "TokenElevationType": "%%1936",
    "ProcessId": "0x1004",
    "CommandLine": "",
}
SECURITY_4688_NEW = SECURITY_4688_OLD | {
    "TargetUserSid": "S-1-0-0",
    "TargetUserName": "-",
    "TargetDomainName": "-",
    "TargetLogonId": "0x0",
    "ParentProcessName": r"C:\Windows\explorer.exe",
    "MandatoryLabel": "S-1-16-12288",
}
SYSTEM_7045 = {
    "ServiceName": "ScreenConnect Client (0123456789abcdef)",
    "ImagePath": r'"C:\Program Files (x86)\ScreenConnect Client\ScreenConnect.ClientService.exe"'
    r' "?e=Access&y=Guest&h=relay.example.net&p=8041"',
    "ServiceType": "user mode service",
    "StartType": "auto start",
    "AccountName": "LocalSystem",
}
SYSMON_3 = {
    "RuleName": "-",
    "UtcTime": "2025-03-04 09:16:00.000",
    "ProcessGuid": "{6a1b2c3d-0001-67c6-2a00-000000000a00}",
    "ProcessId": "4242",
    "Image": r"C:\Users\bob\Downloads\AnyDesk.exe",
    "User": r"CORP\bob",
    "Protocol": "tcp",
    "Initiated": "true",
    "SourceIsIpv6": "false",
    "SourceIp": "10.0.0.13",
    "SourceHostname": "WS03.corp.local",
    "SourcePort": "50123",
    "SourcePortName": "-",
    "DestinationIsIpv6": "false",
    "DestinationIp": "192.0.2.10",
    "DestinationHostname": "relay-12.net.anydesk.com",
    "DestinationPort": "443",
    "DestinationPortName": "https",
}
SYSMON_22 = {
    "RuleName": "-",
    "UtcTime": "2025-03-04 09:15:59.000",
    "ProcessGuid": "{6a1b2c3d-0001-67c6-2a00-000000000a00}",
    "ProcessId": "4242",
    "QueryName": "relay-12.net.anydesk.com",
    "QueryStatus": "0",
    "QueryResults": "::ffff:192.0.2.10;",
    "Image": r"C:\Users\bob\Downloads\AnyDesk.exe",
    "User": r"CORP\bob",
}
SYSMON_13 = {
    "RuleName": "T1060,RunKey",
    "EventType": "SetValue",
    "UtcTime": "2025-03-04 09:16:10.000",
    "ProcessGuid": "{6a1b2c3d-0001-67c6-2a00-000000000a00}",
    "ProcessId": "4242",
    "Image": r"C:\Users\bob\Downloads\AnyDesk.exe",
    "TargetObject": "HKU\\S-1-5-21-1-2-3-1104"
    r"\Software\Microsoft\Windows\CurrentVersion\Run\AnyDesk",
    "Details": r'"C:\ProgramData\AnyDesk\AnyDesk.exe" --control',
    "User": r"CORP\bob",
}

SHAPES: dict[str, tuple[str, str, int, dict[str, str]]] = {
    "sysmon_1": (SYSMON, SYSMON_PROVIDER, 1, SYSMON_1),
    "sysmon_1_without_parent_user": (SYSMON, SYSMON_PROVIDER, 1, SYSMON_1_WITHOUT_PARENT_USER),
    "security_4688_new": ("Security", SECURITY_PROVIDER, 4688, SECURITY_4688_NEW),
    "security_4688_old": ("Security", SECURITY_PROVIDER, 4688, SECURITY_4688_OLD),
    "system_7045": ("System", "Service Control Manager", 7045, SYSTEM_7045),
    "sysmon_3": (SYSMON, SYSMON_PROVIDER, 3, SYSMON_3),
    "sysmon_22": (SYSMON, SYSMON_PROVIDER, 22, SYSMON_22),
    "sysmon_13": (SYSMON, SYSMON_PROVIDER, 13, SYSMON_13),
}


def _spec(shape: str, record_id: int = 1, time_created: datetime = T0, **extra: Any) -> Any:
    channel, provider, event_id, data = SHAPES[shape]
    return ew.EventSpec(
        channel=channel,
        provider=provider,
        event_id=event_id,
        computer="WS03.corp.local",
        record_id=record_id,
        time_created=time_created,
        data=data,
        **extra,
    )


def _read_json(path: Path) -> list[dict[str, Any]]:
    return [
        {"record": record, "event": json.loads(record["data"])["Event"]}
        for record in evtx.PyEvtxParser(str(path), validate_checksums=True).records_json()
    ]


def _event_id(system: dict[str, Any]) -> object:
    # pyevtx-rs nests the ID under "#text" when EventID carries a Qualifiers attribute.
    event_id = system["EventID"]
    return event_id["#text"] if isinstance(event_id, dict) else event_id


def _system_time(moment: datetime) -> str:
    # pyevtx-rs 0.14 renders SystemTime in UTC with six fraction digits.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_shape_round_trip(shape: str, tmp_path: Path) -> None:
    path = tmp_path / f"{shape}.evtx"
    spec = _spec(shape, record_id=77)
    ew.write_evtx(path, [spec])

    (read,) = _read_json(path)
    system = read["event"]["System"]
    assert system["Channel"] == spec.channel
    assert system["Provider"]["#attributes"]["Name"] == spec.provider
    assert _event_id(system) == spec.event_id
    assert system["Computer"] == "WS03.corp.local"
    assert system["EventRecordID"] == 77
    assert read["record"]["event_record_id"] == 77
    assert system["TimeCreated"]["#attributes"]["SystemTime"] == _system_time(T0)
    assert read["event"]["EventData"] == spec.data
    assert list(read["event"]["EventData"]) == list(spec.data)


def test_system_fields_typed_like_windows(tmp_path: Path) -> None:
    path = tmp_path / "system.evtx"
    spec = _spec(
        "system_7045",
        provider_guid="{555908d1-a6d7-4695-8e1e-26931d2012f4}",
        qualifiers=16384,
        user_sid="S-1-5-21-1004336348-1177238915-682003330-500",
        keywords=0x8080000000000000,
        process_id=616,
        thread_id=7012,
    )
    ew.write_evtx(path, [spec])

    system = _read_json(path)[0]["event"]["System"]
    assert system["Provider"]["#attributes"]["Guid"] == "555908D1-A6D7-4695-8E1E-26931D2012F4"
    assert system["EventID"] == {"#attributes": {"Qualifiers": 16384}, "#text": 7045}
    assert system["Keywords"] == "0x8080000000000000"
    assert system["Execution"]["#attributes"] == {"ProcessID": 616, "ThreadID": 7012}
    assert system["Security"]["#attributes"]["UserID"] == spec.user_sid


def test_offset_time_stored_as_utc(tmp_path: Path) -> None:
    path = tmp_path / "offset.evtx"
    local = datetime(2025, 3, 4, 11, 0, 0, 500000, tzinfo=timezone(timedelta(hours=2)))
    ew.write_evtx(path, [_spec("sysmon_1", time_created=local)])

    system = _read_json(path)[0]["event"]["System"]
    assert system["TimeCreated"]["#attributes"]["SystemTime"] == "2025-03-04T09:00:00.500000Z"


def test_extra_ticks_reach_record_header(tmp_path: Path) -> None:
    path = tmp_path / "ticks.evtx"
    ew.write_evtx(path, [_spec("sysmon_1", time_created_extra_ticks=7)])

    (read,) = _read_json(path)
    assert read["record"]["timestamp"] == "2025-03-04T09:15:30.1234567Z UTC"
    # pyevtx-rs 0.14 drops the seventh fraction digit when it renders SystemTime.
    system_time = read["event"]["System"]["TimeCreated"]["#attributes"]["SystemTime"]
    assert system_time == "2025-03-04T09:15:30.123456Z"


def test_zero_record_filetime_reads_1601(tmp_path: Path) -> None:
    path = tmp_path / "zero.evtx"
    ew.write_evtx(path, [_spec("sysmon_1", record_filetime=0)])

    (read,) = _read_json(path)
    assert read["record"]["timestamp"].startswith("1601-01-01T00:00:00")
    system_time = read["event"]["System"]["TimeCreated"]["#attributes"]["SystemTime"]
    assert system_time == _system_time(T0)


def test_special_characters_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "text.evtx"
    data = {"CommandLine": 'cmd.exe /c "a & b" <in >out', "Image": "C:\\Ünïcödé\\日本.exe", "E": ""}
    spec = ew.EventSpec(
        channel=SYSMON,
        provider=SYSMON_PROVIDER,
        event_id=1,
        computer="WS01.corp.local",
        record_id=1,
        time_created=T0,
        data=data,
    )
    ew.write_evtx(path, [spec])

    assert _read_json(path)[0]["event"]["EventData"] == data


# Enough events of the shapes above, cycled, to fill one chunk and start a second.
TWO_CHUNK_EVENTS = 60


def _many_events(count: int) -> list[Any]:
    shapes = sorted(SHAPES)
    return [
        _spec(shapes[index % len(shapes)], index + 1, T0 + timedelta(seconds=index))
        for index in range(count)
    ]


def test_two_chunk_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "two.evtx"
    events = _many_events(TWO_CHUNK_EVENTS)
    chunk_count = ew.write_evtx(path, events)
    assert chunk_count == 2

    reads = _read_json(path)
    assert [read["record"]["event_record_id"] for read in reads] == list(
        range(1, TWO_CHUNK_EVENTS + 1)
    )
    for spec, read in zip(events, reads, strict=True):
        system = read["event"]["System"]
        assert system["Channel"] == spec.channel
        assert _event_id(system) == spec.event_id
        assert system["EventRecordID"] == spec.record_id
        assert system["TimeCreated"]["#attributes"]["SystemTime"] == _system_time(spec.time_created)
        assert read["event"]["EventData"] == spec.data


def test_headers_match_content(tmp_path: Path) -> None:
    path = tmp_path / "headers.evtx"
    ew.write_evtx(path, _many_events(TWO_CHUNK_EVENTS))
    content = path.read_bytes()

    magic, first_chunk, last_chunk, next_id = struct.unpack_from("<8sQQQ", content, 0)
    header_size, minor, major, block_size, chunk_count = struct.unpack_from("<IHHHH", content, 32)
    assert magic == b"ElfFile\x00"
    assert (first_chunk, last_chunk, chunk_count) == (0, 1, 2)
    assert next_id == TWO_CHUNK_EVENTS + 1
    assert (header_size, minor, major, block_size) == (128, 1, 3, 4096)
    assert struct.unpack_from("<I", content, 124)[0] == zlib.crc32(content[:120])
    assert len(content) == 4096 + 2 * 65536

    second = content[4096 + 65536 :]
    first_number, last_number, first_id, last_id = struct.unpack_from("<QQQQ", second, 8)
    free_offset = struct.unpack_from("<I", second, 48)[0]
    assert second[:8] == b"ElfChnk\x00"
    assert first_number == first_id
    assert last_number == last_id == TWO_CHUNK_EVENTS
    assert struct.unpack_from("<I", second, 52)[0] == zlib.crc32(second[512:free_offset])


def test_name_hash_known_value() -> None:
    # 65599 * ord("A") + ord("B") = 0x411041, whose low 16 bits are 0x1041.
    assert ew.name_hash("AB") == 0x1041
    assert ew.name_hash("") == 0


def test_naive_time_raises(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="naive"):
        ew.write_evtx(
            tmp_path / "naive.evtx", [_spec("sysmon_1", time_created=datetime(2025, 3, 4))]
        )


def test_oversized_event_raises(tmp_path: Path) -> None:
    spec = _spec("sysmon_1")
    huge = dataclasses.replace(spec, data={"CommandLine": "x" * 40000})
    with pytest.raises(ValueError, match="does not fit"):
        ew.write_evtx(tmp_path / "huge.evtx", [huge])


def _read_skipping_errors(path: Path) -> tuple[list[int], list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parser = evtx.PyEvtxParser(str(path), skip_errors=True)
        ids = [record["event_record_id"] for record in parser.records_json()]
    return ids, [str(warning.message) for warning in caught]


def test_bad_chunk_magic_skips_chunk(tmp_path: Path) -> None:
    path = tmp_path / "magic.evtx"
    ew.write_evtx(path, _many_events(TWO_CHUNK_EVENTS))
    ew.corrupt_chunk_magic(path, 1)

    with pytest.raises(RuntimeError, match="chunk header magic"):
        list(evtx.PyEvtxParser(str(path)).records_json())
    ids, messages = _read_skipping_errors(path)
    assert ids
    assert max(ids) < TWO_CHUNK_EVENTS
    assert any("chunk number 1" in message for message in messages)


def test_bad_record_size_reported(tmp_path: Path) -> None:
    path = tmp_path / "size.evtx"
    ew.write_evtx(path, _many_events(10))
    ew.corrupt_record_size(path, 5)

    ids, messages = _read_skipping_errors(path)
    assert ids == [1, 2, 3, 4]
    assert any("record data size" in message for message in messages)


def test_bad_record_size_unknown_id(tmp_path: Path) -> None:
    path = tmp_path / "missing.evtx"
    ew.write_evtx(path, _many_events(3))
    with pytest.raises(ValueError, match="no event record 9"):
        ew.corrupt_record_size(path, 9)


def test_truncated_file_loses_last_chunk(tmp_path: Path) -> None:
    path = tmp_path / "truncated.evtx"
    ew.write_evtx(path, _many_events(TWO_CHUNK_EVENTS))
    ew.truncate_evtx(path, 4096 + 65536 + 20000)

    ids, _ = _read_skipping_errors(path)
    assert ids
    assert max(ids) < TWO_CHUNK_EVENTS
    header_chunk_count = struct.unpack_from("<H", path.read_bytes(), 42)[0]
    assert header_chunk_count == 2


def test_examples_reproduce_committed_bytes(tmp_path: Path) -> None:
    script = REPOSITORY / "examples" / "make_examples.py"
    subprocess.run(
        [sys.executable, str(script), "--output", str(tmp_path)],
        check=True,
        capture_output=True,
    )

    for name in ("Security.evtx", "Sysmon.evtx", "System.evtx"):
        committed = (REPOSITORY / "examples" / "evtx" / name).read_bytes()
        assert (tmp_path / name).read_bytes() == committed, name
