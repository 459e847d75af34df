"""The EVTX reader on real public EVTX files and on files damaged on purpose."""

from __future__ import annotations

import json
import shutil
import struct
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import evtx
import pytest

from rmmhunt.errors import InputError
from rmmhunt.readers.base import HEAD_SIZE, InputFile, ReadOptions, ReadStats
from rmmhunt.readers.evtx import EvtxReader
from rmmhunt.readers.evtxchunks import CHUNK_SIZE, FILE_HEADER_SIZE
from rmmhunt.schema import Row

ERROR_REASONS = {"record_parse_error", "chunk_parse_error", "chunk_records_missing"}
SAMPLES = "evtx/omerbenamram-evtx/samples"


def read_evtx(path: Path) -> tuple[list[Row], ReadStats]:
    stats = ReadStats()
    with path.open("rb") as stream:
        head = stream.read(HEAD_SIZE)
        stream.seek(0)
        rows = list(EvtxReader().read(InputFile(str(path), stream, head), stats, ReadOptions()))
    stats.records_normalised += len(rows)
    return rows, stats


def parser_counts(path: Path) -> tuple[int, Counter[tuple[str, int]]]:
    """Count records and (channel, EventID) pairs with pyevtx-rs alone, going on past errors."""
    yielded = 0
    by_event: Counter[tuple[str, int]] = Counter()
    records = evtx.PyEvtxParser(str(path)).records_json()
    while True:
        try:
            record = next(records)
        except StopIteration:
            return yielded, by_event
        except RuntimeError:
            continue
        yielded += 1
        system = json.loads(record["data"])["Event"]["System"]
        event_id = system["EventID"]
        if isinstance(event_id, dict):
            event_id = event_id["#text"]
        by_event[(system.get("Channel"), int(event_id))] += 1


def evtx_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.evtx") if p.stat().st_size > 0)


def test_every_record_accounted_for(shared_data: Path) -> None:
    files = evtx_files(shared_data / "evtx")
    assert len(files) == 580
    yielded_total = 0
    for path in files:
        yielded, _ = parser_counts(path)
        yielded_total += yielded
        _, stats = read_evtx(path)
        not_errors = sum(n for reason, n in stats.skipped.items() if reason not in ERROR_REASONS)
        assert stats.records_normalised + not_errors == yielded, path
        assert stats.records_read == stats.records_normalised + sum(stats.skipped.values()), path
    assert yielded_total == 36_666


def test_process_starts_match_parser_counts(shared_data: Path) -> None:
    expected: Counter[tuple[str, int]] = Counter()
    starts: Counter[tuple[str, int]] = Counter()
    for path in evtx_files(shared_data / "evtx"):
        _, by_event = parser_counts(path)
        expected.update(by_event)
        rows, _ = read_evtx(path)
        for row in rows:
            if row["event_type"] == "PROCESS" and row["event_sub_type"] == "PROCESS_START":
                starts[(str(row["evtlog_channel"]), int(str(row["action_evtlog_event_id"])))] += 1
    sysmon = ("Microsoft-Windows-Sysmon/Operational", 1)
    security = ("Security", 4688)
    assert starts[sysmon] == expected[sysmon] == 1_732
    assert starts[security] == expected[security] == 1_302
    assert sum(starts.values()) == 1_732 + 1_302


def test_each_process_creation_one_start(
    shared_data: Path, evtx_kind_records: dict[Path, dict[str, Counter[int]]]
) -> None:
    files = evtx_files(shared_data / "evtx")
    assert files == sorted(evtx_kind_records)
    total = 0
    for path in files:
        rows, _ = read_evtx(path)
        starts = [r for r in rows if r.get("event_sub_type") == "PROCESS_START"]
        by_record = Counter(int(str(r["source_record"])) for r in starts)
        # A record that became two rows, or a row from another record, breaks the equality.
        assert by_record == evtx_kind_records[path]["process_start"], path
        assert all(r["event_type"] == "PROCESS" for r in starts), path
        total += len(starts)
    # Both copies of the byte-identical files count, as no deduplication has happened yet.
    assert total == 1_732 + 1_302


def test_each_service_install_one_event(
    shared_data: Path, evtx_kind_records: dict[Path, dict[str, Counter[int]]]
) -> None:
    total = 0
    for path in evtx_files(shared_data / "evtx"):
        rows, _ = read_evtx(path)
        installs = [r for r in rows if r.get("action_evtlog_event_id") in (7045, 4697)]
        by_record = Counter(int(str(r["source_record"])) for r in installs)
        assert by_record == evtx_kind_records[path]["service_install"], path
        assert all(r["event_type"] == "EVENT_LOG" for r in installs), path
        total += len(installs)
    assert total == 334 + 8


def test_teamviewer_service_install(shared_data: Path) -> None:
    rows, _ = read_evtx(shared_data / SAMPLES / "2-vss_7-System.evtx")
    services = [r for r in rows if r["action_evtlog_event_id"] == 7045]
    by_name = {r["action_service_name"]: r for r in services}

    service = by_name["TeamViewer 13"]
    image_path = '"C:\\Program Files (x86)\\TeamViewer\\TeamViewer_Service.exe"'
    assert service["event_type"] == "EVENT_LOG"
    assert service["action_service_image_path"] == image_path
    assert service["action_process_image_path"] == image_path.strip('"')
    assert service["action_process_image_name"] == "TeamViewer_Service.exe"
    assert service["action_service_start_type"] == "auto start"
    assert service["action_service_account"] == "LocalSystem"
    time = service["_time"]
    assert isinstance(time, datetime)
    assert time.replace(microsecond=0) == datetime(2018, 7, 30, 23, 11, 32, tzinfo=UTC)

    drivers = [r for r in services if r["action_process_image_name"] == "teamviewervpn.sys"]
    assert len(drivers) == 1
    assert drivers[0]["action_service_type"] == "kernel mode driver"


def test_samples_run_and_locate_damage(shared_data: Path) -> None:
    warned = {}
    for path in evtx_files(shared_data / SAMPLES):
        _, stats = read_evtx(path)
        warned[path.name] = stats.warnings
    assert "byte offset" in warned["sysmon.evtx"][0]
    assert "chunk 9" in warned["sysmon.evtx"][0]
    assert any("records are missing" in w for w in warned["sample_with_a_bad_chunk_magic.evtx"])
    assert warned["security.evtx"] == []


def test_sysmon_sample_counts_bad_chunks(shared_data: Path) -> None:
    rows, stats = read_evtx(shared_data / SAMPLES / "sysmon.evtx")
    assert sum(1 for r in rows if r["action_evtlog_event_id"] == 1) == 227
    assert stats.skipped["chunk_parse_error"] == 8


def test_zero_data_size_gap_not_counted_twice(shared_data: Path) -> None:
    _, stats = read_evtx(shared_data / SAMPLES / "sample-with-zero-data-size-event.evtx")
    # Chunk 0 lists records 1 to 117: 2 returned, 1 failed, so 114 lost without an error.
    assert stats.skipped["record_parse_error"] == 1
    assert stats.skipped["chunk_records_missing"] == 114


def test_4688_old_field_set(shared_data: Path) -> None:
    name = "ID4624,4688,5140,5145-Eternal Romance - MS17_010_psexec (GLOBAL).evtx"
    path = shared_data / "evtx/EVTX-to-MITRE-Attack/EVTX_full_APT_attack_steps" / name
    rows, _ = read_evtx(path)
    # source_record is the record header's number; exported files renumber it.
    row = next(r for r in rows if r["source_record"] == "11")
    assert row["action_process_image_name"] == "cmd.exe"
    assert row["action_process_os_pid"] == 0x6E8
    assert row["actor_process_os_pid"] == 0x1D0
    assert row["actor_effective_username"] == "OFFSEC\\FS03VULN$"
    assert row["action_process_username"] is None
    assert row["actor_process_image_path"] is None
    assert row["event_id"] == f"fs03vuln/Security/{row['evtlog_record_id']}"


def test_4688_new_field_set(shared_data: Path) -> None:
    name = "ID4688,4698,4699,5145,4624-ATexec remote trask creation (GLOBAL).evtx"
    path = shared_data / "evtx/EVTX-to-MITRE-Attack/EVTX_full_APT_attack_steps" / name
    rows, _ = read_evtx(path)
    row = next(r for r in rows if r["source_record"] == "6")
    assert row["action_process_os_pid"] == 0x3D0
    assert row["actor_process_os_pid"] == 0x414
    assert row["actor_process_image_name"] == "svchost.exe"
    command_line = "cmd.exe /C whoami > C:\\Windows\\Temp\\bouWFQYO.tmp 2>&1"
    assert row["action_process_image_command_line"] == command_line
    # TargetUserName is "-" in this record, a placeholder, so the account stays NULL.
    assert row["action_process_username"] is None


def test_sysmon_1_parent_is_never_action(shared_data: Path) -> None:
    folder = shared_data / "evtx/EVTX-ATTACK-SAMPLES/Defense Evasion"
    path = folder / "sysmon_13_rdp_settings_tampering.evtx"
    rows, _ = read_evtx(path)
    starts = [r for r in rows if r.get("event_sub_type") == "PROCESS_START"]
    children = [r for r in starts if r["actor_process_image_name"] == "RDPWInst.exe"]
    assert children
    assert all(r["action_process_image_name"] != "RDPWInst.exe" for r in children)
    assert any(r["action_process_image_name"] == "netsh.exe" for r in children)


def test_detect_magic() -> None:
    reader = EvtxReader()
    assert reader.detect(b"ElfFile\0" + bytes(8), "x.bin")
    assert not reader.detect(b"ElfChnk\0", "x.evtx")


@pytest.mark.parametrize("content", [b"", b"ElfFile\0\x00\x01", b"PK\x03\x04 not an evtx file"])
def test_bad_header_raises_with_first_bytes(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.evtx"
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        read_evtx(path)
    assert str(path) in str(caught.value)
    if content:
        assert content[:4].hex(" ") in str(caught.value)


def damaged_copy(shared_data: Path, tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    shutil.copyfile(shared_data / SAMPLES / name, path)
    return path


def test_truncated_mid_chunk(shared_data: Path, tmp_path: Path) -> None:
    path = damaged_copy(shared_data, tmp_path, "security.evtx")
    _, full = read_evtx(path)
    with path.open("r+b") as stream:
        stream.truncate(FILE_HEADER_SIZE + 3 * CHUNK_SIZE + CHUNK_SIZE // 2)
    rows, stats = read_evtx(path)
    lost = sum(stats.skipped[r] for r in ERROR_REASONS)
    assert lost > 0
    assert stats.warnings
    assert any("chunk 3" in w for w in stats.warnings)
    # The parser returns nothing from the cut chunk and raises nothing, so only the gap shows it.
    assert stats.skipped["chunk_records_missing"] > 0
    assert stats.records_read - lost < full.records_read
    assert stats.records_read == len(rows) + sum(stats.skipped.values())


def test_overwritten_chunk_magic(shared_data: Path, tmp_path: Path) -> None:
    path = damaged_copy(shared_data, tmp_path, "security.evtx")
    with path.open("r+b") as stream:
        stream.seek(FILE_HEADER_SIZE + 2 * CHUNK_SIZE)
        stream.write(b"XXXXXXXX")
    _, stats = read_evtx(path)
    assert stats.skipped["chunk_parse_error"] == 1
    assert any("chunk 2" in w for w in stats.warnings)


def test_zeroed_record(shared_data: Path, tmp_path: Path) -> None:
    path = damaged_copy(shared_data, tmp_path, "security.evtx")
    chunk = FILE_HEADER_SIZE + CHUNK_SIZE
    with path.open("r+b") as stream:
        stream.seek(chunk + 512)
        size = struct.unpack("<I", stream.read(8)[4:8])[0]
        stream.seek(chunk + 512 + size)
        stream.write(bytes(64))
    rows, stats = read_evtx(path)
    lost = sum(stats.skipped[r] for r in ERROR_REASONS)
    assert lost > 0
    assert any("chunk 1" in w for w in stats.warnings)
    assert len(rows) + sum(stats.skipped.values()) == stats.records_read


EXAMPLE_SYSMON = Path(__file__).resolve().parents[1] / "examples" / "evtx" / "Sysmon.evtx"


def truncated_copy(source: Path, tmp_path: Path, size: int) -> Path:
    path = tmp_path / f"cut_{size}_{source.name}"
    path.write_bytes(source.read_bytes()[:size])
    return path


@pytest.mark.parametrize("size", [FILE_HEADER_SIZE + 200, 70_000, 200_000])
def test_truncated_file_counts_every_listed_record(
    shared_data: Path, tmp_path: Path, size: int
) -> None:
    # The header of this sample lists 4 chunks and next record id 371, ids starting at 1.
    path = truncated_copy(shared_data / SAMPLES / "2-vss_7-System.evtx", tmp_path, size)

    rows, stats = read_evtx(path)

    assert stats.records_read == 370
    assert stats.records_read == len(rows) + sum(stats.skipped.values())
    assert stats.skipped["file_truncated"] > 0
    [warning] = [w for w in stats.warnings if "next record id 371" in w]
    assert warning.startswith(f"{path} (byte offset {size}): ")


def test_complete_file_is_not_truncated(shared_data: Path) -> None:
    _, stats = read_evtx(shared_data / SAMPLES / "2-vss_7-System.evtx")

    assert stats.skipped["file_truncated"] == 0


def test_cut_after_first_chunk_counts_rest(tmp_path: Path) -> None:
    # The example's two chunks list records 10001 to 10023 and 10024 to 10031.
    path = truncated_copy(EXAMPLE_SYSMON, tmp_path, FILE_HEADER_SIZE + CHUNK_SIZE)

    _, stats = read_evtx(path)

    assert stats.skipped["file_truncated"] == 8
    assert stats.records_read == 31
    assert "8 record(s) after record id 10023 are missing" in stats.warnings[-1]


def test_cut_before_any_chunk_counts_chunks(tmp_path: Path) -> None:
    path = truncated_copy(EXAMPLE_SYSMON, tmp_path, FILE_HEADER_SIZE)

    rows, stats = read_evtx(path)

    assert rows == []
    assert stats.skipped["file_truncated"] == 2
    assert "2 chunk(s) are missing" in stats.warnings[-1]
