"""Input discovery: directories, archives, standard input, hashes and unknown formats."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import socket
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from rmmhunt.catalog.loader import load_catalog
from rmmhunt.cli import ExitCode, main
from rmmhunt.hunt import HuntOptions
from rmmhunt.inputs import Discovery, describe_unknown, iter_paths, open_inputs
from rmmhunt.pipeline import LoadResult, build_summary, load_inputs
from rmmhunt.readers.base import InputFile, ReadOptions, ReadStats
from rmmhunt.readers.registry import all_readers
from rmmhunt.report.table import render_summary_text
from rmmhunt.schema import Row

EXAMPLE_XDR = Path(__file__).resolve().parents[1] / "examples" / "xdr" / "xdr_data.ndjson"


def _summary_text(loaded: LoadResult) -> str:
    catalog = load_catalog()
    summary = build_summary(loaded, catalog, HuntOptions(), [])
    return render_summary_text(summary)


def _open_all(paths: list[str]) -> tuple[Discovery, dict[str, bytes]]:
    discovery = Discovery()
    contents: dict[str, bytes] = {}
    for display, path in iter_paths(paths, discovery):
        for source in open_inputs(display, path, discovery):
            contents[source.display] = source.stream.read()
    return discovery, contents


def test_directory_walk_is_recursive_and_sorted(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.json").write_text("{}")
    (tmp_path / "a.json").write_text("[]")
    (tmp_path / ".hidden").write_text("x")

    discovery, contents = _open_all([str(tmp_path)])

    assert list(contents) == [
        str(tmp_path / ".hidden"),
        str(tmp_path / "a.json"),
        str(tmp_path / "b" / "two.json"),
    ]
    assert not discovery.failures


def test_sha256_recorded_for_each_file(tmp_path: Path) -> None:
    data = b'{"event_id": "1"}\n'
    (tmp_path / "x.ndjson").write_bytes(data)

    discovery, _ = _open_all([str(tmp_path / "x.ndjson")])

    assert discovery.inputs[0].sha256 == hashlib.sha256(data).hexdigest()
    assert discovery.inputs[0].size == len(data)


def test_gzip_member_is_unpacked(tmp_path: Path) -> None:
    packed = tmp_path / "events.json.gz"
    packed.write_bytes(gzip.compress(b"[1, 2]"))

    discovery, contents = _open_all([str(packed)])

    assert contents == {f"{packed}!events.json": b"[1, 2]"}
    assert discovery.inputs[0].members == 1


def test_zip_members_and_nested_gzip(tmp_path: Path) -> None:
    archive = tmp_path / "logs.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("dir/", "")
        handle.writestr("dir/one.json", "[]")
        handle.writestr("two.ndjson.gz", gzip.compress(b"{}\n"))

    discovery, contents = _open_all([str(archive)])

    assert contents == {
        f"{archive}!dir/one.json": b"[]",
        f"{archive}!two.ndjson.gz!two.ndjson": b"{}\n",
    }
    assert not discovery.failures


def test_inputs_are_not_modified(tmp_path: Path) -> None:
    archive = tmp_path / "logs.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("one.json", "[]")
    before = sorted(p.name for p in tmp_path.iterdir())
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()

    _open_all([str(tmp_path)])

    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == digest


def test_corrupt_archive_fails_alone(tmp_path: Path) -> None:
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    (tmp_path / "bad.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    (tmp_path / "good.json").write_text("[]")

    discovery, contents = _open_all([str(tmp_path)])

    assert list(contents) == [str(tmp_path / "good.json")]
    reasons = {Path(f.path).name: f.reason for f in discovery.failures}
    assert "invalid zip archive" in reasons["bad.zip"]
    assert "damaged compressed data" in reasons["bad.gz"]


def test_missing_path_is_a_failure(tmp_path: Path) -> None:
    discovery, contents = _open_all([str(tmp_path / "absent.evtx")])

    assert contents == {}
    assert "file not found" in discovery.failures[0].reason


def test_stdin_is_buffered(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeStdin:
        buffer = io.BytesIO(b'{"a": 1}\n')

    monkeypatch.setattr("sys.stdin", FakeStdin())

    discovery, contents = _open_all(["-"])

    assert contents == {"-": b'{"a": 1}\n'}
    assert discovery.inputs[0].sha256 == hashlib.sha256(b'{"a": 1}\n').hexdigest()


def test_unknown_format_message_names_keys(tmp_path: Path) -> None:
    (tmp_path / "odd.json").write_text('{"foo": 1, "bar": 2}\n')
    discovery = Discovery()
    [(display, path)] = list(iter_paths([str(tmp_path / "odd.json")], discovery))
    [source] = list(open_inputs(display, path, discovery))

    message = describe_unknown(source, [])

    assert "no reader recognises" in message
    assert "bar, foo" in message
    assert "7b 22 66 6f" in message


def test_unknown_format_names_packet_capture(tmp_path: Path) -> None:
    # A little-endian pcap global header, as in the network captures of public data sets.
    (tmp_path / "capture.cap").write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00" + b"\r\n\x00" * 8)
    discovery = Discovery()
    [(display, path)] = list(iter_paths([str(tmp_path / "capture.cap")], discovery))
    [source] = list(open_inputs(display, path, discovery))

    message = describe_unknown(source, all_readers())

    assert "tried: evtx, defender" in message
    assert "packet capture (pcap)" in message


def test_binary_with_carriage_returns_fails_alone(tmp_path: Path) -> None:
    # A lone carriage return in the first line once made CSV detection raise and stop the run.
    (tmp_path / "a_capture.cap").write_bytes(b"\xd4\xc3\xb2\xa1\x02\x00\r\x00abc\r\n")
    (tmp_path / "b_rows.csv").write_text(
        "_time,agent_hostname,event_type,action_process_image_name\n"
        "2024-04-15T11:09:27Z,WS01,PROCESS,AnyDesk.exe\n"
    )

    loaded = load_inputs([str(tmp_path)])

    assert loaded.files_read == 1
    assert [failure.path for failure in loaded.discovery.failures] == [
        str(tmp_path / "a_capture.cap")
    ]
    assert "no reader recognises" in loaded.discovery.failures[0].reason
    assert loaded.stats.records_normalised == 1


def test_detection_error_fails_only_that_file(tmp_path: Path) -> None:
    class BrokenReader:
        format_name = "broken"

        def detect(self, head: bytes, name: str) -> bool:
            raise ValueError("detection bug")

        def read(self, source: InputFile, stats: ReadStats, options: ReadOptions) -> Iterator[Row]:
            raise AssertionError("never called")

    (tmp_path / "one.json").write_text("{}\n")
    (tmp_path / "two.json").write_text("{}\n")

    loaded = load_inputs([str(tmp_path)], readers=[BrokenReader()])

    assert len(loaded.discovery.failures) == 2
    assert "internal error while detecting the format" in loaded.discovery.failures[0].reason
    assert "detection bug" in loaded.discovery.failures[0].reason


def test_unknown_csv_names_header(tmp_path: Path) -> None:
    (tmp_path / "export.csv").write_text("When,Machine,Program\n2024-04-15,WS01,AnyDesk.exe\n")

    loaded = load_inputs([str(tmp_path / "export.csv")])

    [failure] = loaded.discovery.failures
    assert "tried: evtx, defender, crowdstrike, ocsf" in failure.reason
    assert "keys or header found: When,Machine,Program" in failure.reason
    assert loaded.files_read == 0


def test_unknown_only_input_is_not_silent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "odd.json").write_text('{"foo": 1}\n')

    code = main(["hunt", str(tmp_path / "odd.json")])

    assert code == ExitCode.NO_INPUT
    assert "no reader recognises this format" in capsys.readouterr().err


def _walk(paths: list[str]) -> tuple[Discovery, list[str]]:
    discovery = Discovery()
    found = [display for display, _ in iter_paths(paths, discovery)]
    return discovery, found


def test_walk_skips_fifo_and_lists_it(tmp_path: Path) -> None:
    (tmp_path / "a.ndjson").write_text("{}\n")
    os.mkfifo(tmp_path / "pipe")

    discovery, found = _walk([str(tmp_path)])

    assert found == [str(tmp_path / "a.ndjson")]
    assert [skip.path for skip in discovery.skipped] == [str(tmp_path / "pipe")]
    assert "FIFO" in discovery.skipped[0].reason
    assert not discovery.failures


def test_walk_skips_socket_and_lists_it(tmp_path: Path) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(tmp_path / "s.sock"))
        discovery, found = _walk([str(tmp_path)])
    finally:
        listener.close()

    assert found == []
    assert [skip.path for skip in discovery.skipped] == [str(tmp_path / "s.sock")]
    assert "socket" in discovery.skipped[0].reason


def test_walk_follows_directory_link_once(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "x.ndjson").write_text("{}\n")
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    (real / "loop").symlink_to(real, target_is_directory=True)

    discovery, found = _walk([str(tmp_path)])

    assert found == [str(tmp_path / "link" / "x.ndjson")]
    skipped = sorted(skip.path for skip in discovery.skipped)
    assert skipped == [str(tmp_path / "link" / "loop"), str(real)]
    assert all("already read" in skip.reason for skip in discovery.skipped)


def test_walk_lists_broken_link(tmp_path: Path) -> None:
    (tmp_path / "gone").symlink_to(tmp_path / "missing")

    discovery, found = _walk([str(tmp_path)])

    assert found == []
    assert [skip.path for skip in discovery.skipped] == [str(tmp_path / "gone")]
    assert "broken symbolic link" in discovery.skipped[0].reason


def test_hidden_and_linked_files_are_read(tmp_path: Path) -> None:
    collection = tmp_path / "collection"
    collection.mkdir()
    shutil.copy(EXAMPLE_XDR, collection / ".export.ndjson")
    (collection / "linked").symlink_to(EXAMPLE_XDR.parent, target_is_directory=True)
    os.mkfifo(collection / "pipe")

    loaded = load_inputs([str(collection)])
    summary_text = _summary_text(loaded)
    loaded.dataset.close()

    assert loaded.files_read == 2
    assert "files: 2 read, 0 failed, 1 skipped" in summary_text
    assert f"skipped: {collection / 'pipe'}: not a regular file" in summary_text


def test_unknown_utf16_suggests_conversion(tmp_path: Path) -> None:
    path = tmp_path / "unknown.ndjson"
    path.write_bytes('{"some": "thing"}\r\n'.encode("utf-16"))

    loaded = load_inputs([str(path)])
    loaded.dataset.close()

    [failure] = loaded.discovery.failures
    assert "keys or header found: some" in failure.reason
    assert "UTF-16" in failure.reason
    assert "convert it to UTF-8" in failure.reason
