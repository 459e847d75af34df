"""Archives: damaged members keep their intact start, and size and ratio limits hold."""

from __future__ import annotations

import gzip
import json
import zipfile
import zlib
from pathlib import Path

import pytest

from rmmhunt import archives
from rmmhunt.pipeline import LoadResult, load_inputs

EXAMPLE_XDR = Path(__file__).resolve().parents[1] / "examples" / "xdr" / "xdr_data.ndjson"


def _load(path: Path) -> LoadResult:
    loaded = load_inputs([str(path)])
    loaded.dataset.close()
    return loaded


def _many_rows(count: int) -> bytes:
    """Return NDJSON with `count` distinct XDR rows, so that it compresses like real logs."""
    lines = []
    for index in range(count):
        row = {
            "_time": f"2025-03-12T09:{index // 60 % 60:02d}:{index % 60:02d}Z",
            "event_type": "PROCESS",
            "event_sub_type": "PROCESS_START",
            "event_id": f"E{index}-{index * 7919 % 104729}",
            "agent_hostname": f"WS{index % 97:02d}",
            "action_process_image_name": f"tool{index * 31 % 1009}.exe",
        }
        lines.append(json.dumps(row))
    return ("\n".join(lines) + "\n").encode()


def _decompressed_prefix(data: bytes, wbits: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    output = b""
    for index in range(len(data)):
        try:
            output += inflater.decompress(data[index : index + 1])
        except zlib.error:
            break
    return output


def test_truncated_gzip_keeps_start(tmp_path: Path) -> None:
    packed = gzip.compress(EXAMPLE_XDR.read_bytes())
    cut = packed[: len(packed) * 2 // 3]
    path = tmp_path / "events.ndjson.gz"
    path.write_bytes(cut)
    prefix = _decompressed_prefix(cut, 31)
    complete_lines = prefix.count(b"\n")

    loaded = _load(path)

    assert loaded.files_read == 1
    assert loaded.stats.records_normalised >= complete_lines
    assert loaded.stats.records_normalised > 0
    [failure] = loaded.discovery.failures
    assert failure.path == f"{path}!events.ndjson"
    assert f"decompressed byte offset {len(prefix)}" in failure.reason
    assert "read only up to there" in failure.reason


def test_corrupt_zip_member_keeps_start(tmp_path: Path) -> None:
    data = _many_rows(3000)
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("rows.ndjson", data)
        archive.writestr("after.ndjson", EXAMPLE_XDR.read_bytes())
    info = zipfile.ZipFile(path).getinfo("rows.ndjson")
    raw = bytearray(path.read_bytes())
    damaged_at = info.header_offset + 30 + len(info.filename) + info.compress_size * 3 // 4
    raw[damaged_at : damaged_at + 8] = b"\xff" * 8
    path.write_bytes(bytes(raw))

    loaded = _load(path)

    assert loaded.files_read == 2
    assert loaded.stats.records_normalised > 1000
    assert loaded.stats.records_normalised < 3000 + 8
    [failure] = loaded.discovery.failures
    assert failure.path == f"{path}!rows.ndjson"
    assert "damaged compressed data" in failure.reason
    assert "decompressed byte offset" in failure.reason


def test_zip_crc_mismatch_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "stored.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("rows.ndjson", EXAMPLE_XDR.read_bytes())
    raw = bytearray(path.read_bytes())
    raw[raw.index(b"AnyDesk")] = ord("a")
    path.write_bytes(bytes(raw))

    loaded = _load(path)

    assert loaded.stats.records_normalised == 8
    [failure] = loaded.discovery.failures
    assert "CRC-32" in failure.reason


def test_compression_ratio_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archives, "RATIO_CHECK_MIN_BYTES", 1024 * 1024)
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.ndjson", b"\n" * (4 * 1024 * 1024))
        archive.writestr("rows.ndjson", EXAMPLE_XDR.read_bytes())

    loaded = _load(path)

    assert loaded.files_read == 1
    [failure] = loaded.discovery.failures
    assert failure.path == f"{path}!zeros.ndjson"
    assert f"compression ratio over {archives.MAX_COMPRESSION_RATIO}:1" in failure.reason


def test_archive_total_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    member = EXAMPLE_XDR.read_bytes()
    monkeypatch.setattr(archives, "MAX_ARCHIVE_TOTAL_BYTES", len(member) * 2 + 10)
    path = tmp_path / "three.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in ("a.ndjson", "b.ndjson", "c.ndjson"):
            archive.writestr(name, member)

    loaded = _load(path)

    assert loaded.files_read == 2
    [failure] = loaded.discovery.failures
    assert failure.path == f"{path}!c.ndjson"
    assert "total cap" in failure.reason


def test_total_cap_counts_nested_archives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    member = EXAMPLE_XDR.read_bytes()
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.ndjson", member)
        archive.writestr("b.ndjson", member)
    monkeypatch.setattr(
        archives, "MAX_ARCHIVE_TOTAL_BYTES", inner.stat().st_size + len(member) + 10
    )
    path = tmp_path / "outer.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.write(inner, "inner.zip")

    loaded = _load(path)

    assert loaded.files_read == 1
    assert [f.path for f in loaded.discovery.failures] == [f"{path}!inner.zip!b.ndjson"]
