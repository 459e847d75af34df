"""Write small EVTX files for the project's own test fixtures and bundled examples.

The layout follows libyal's "Windows XML Event Log (EVTX) format" document: a 4096-byte file
header, 65536-byte chunks of 512-byte header plus event records, and each record's event as
Binary XML. Events are written without templates, as plain element, attribute and value tokens.
tests/test_evtxwriter.py reads each event shape back with pyevtx-rs 0.14 (the PyPI package
`evtx`), the reader this format was checked against.

This is a test utility, not part of the installed package. It writes no real event data: callers
give every value.

Example:
    write_evtx(path, [EventSpec(channel="System", provider="Service Control Manager",
                                event_id=7045, computer="WS01.corp.local", record_id=1,
                                time_created=datetime(2025, 3, 4, 9, 0, tzinfo=UTC),
                                data={"ServiceName": "Example"})])
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

FILE_HEADER_SIZE: Final = 4096
CHUNK_SIZE: Final = 65536
CHUNK_HEADER_SIZE: Final = 512
RECORD_HEADER_SIZE: Final = 24
FILE_MAGIC: Final = b"ElfFile\x00"
CHUNK_MAGIC: Final = b"ElfChnk\x00"
RECORD_MAGIC: Final = b"\x2a\x2a\x00\x00"
EVENT_NAMESPACE: Final = "http://schemas.microsoft.com/win/2004/08/events/event"

_FILETIME_EPOCH: Final = datetime(1601, 1, 1, tzinfo=UTC)
_STRING_TABLE_OFFSET: Final = 128
_STRING_TABLE_BUCKETS: Final = 64

# Binary XML tokens. The 0x40 bit on an element or attribute token means "attributes follow" or
# "another attribute follows".
_TOKEN_END_OF_STREAM: Final = 0x00
_TOKEN_OPEN_START_ELEMENT: Final = 0x01
_TOKEN_CLOSE_START_ELEMENT: Final = 0x02
_TOKEN_CLOSE_EMPTY_ELEMENT: Final = 0x03
_TOKEN_CLOSE_ELEMENT: Final = 0x04
_TOKEN_VALUE: Final = 0x05
_TOKEN_ATTRIBUTE: Final = 0x06
_TOKEN_FRAGMENT_HEADER: Final = 0x0F
_TOKEN_MORE_FLAG: Final = 0x40

# Binary XML value types, as libyal's document numbers them.
_TYPE_STRING: Final = 0x01
_TYPE_UINT8: Final = 0x04
_TYPE_UINT16: Final = 0x06
_TYPE_UINT32: Final = 0x08
_TYPE_UINT64: Final = 0x0A
_TYPE_GUID: Final = 0x0F
_TYPE_FILETIME: Final = 0x11
_TYPE_SID: Final = 0x13
_TYPE_HEX_INT64: Final = 0x15
_UINT_FORMATS: Final = {
    _TYPE_UINT8: "<B",
    _TYPE_UINT16: "<H",
    _TYPE_UINT32: "<I",
    _TYPE_UINT64: "<Q",
    _TYPE_HEX_INT64: "<Q",
}


@dataclass(frozen=True)
class TypedValue:
    """A Binary XML value of a non-string type: the type code and its little-endian bytes."""

    value_type: int
    payload: bytes


Value = str | TypedValue


@dataclass(frozen=True)
class EventSpec:
    """One event to write, with the System fields that Windows writes for it.

    `data` is the ordered EventData: each item becomes `<Data Name="key">value</Data>`. The
    integer System fields are written with the value types that Windows uses (EventID UInt16,
    EventRecordID UInt64, Keywords HexInt64, ...), so pyevtx-rs renders them as real files render.
    `time_created_extra_ticks` adds 0-9 ticks of 100 ns to `time_created`, because a Python
    datetime stops at microseconds and a FILETIME does not. `record_filetime` is the record header's
    timestamp as a FILETIME; None writes the event time, and 0 reads as 1601-01-01, as in some
    real files.
    """

    channel: str
    provider: str
    event_id: int
    computer: str
    record_id: int
    time_created: datetime
    data: Mapping[str, str] = field(default_factory=dict)
    provider_guid: str | None = None
    qualifiers: int | None = None
    version: int = 0
    level: int = 4
    task: int = 0
    opcode: int = 0
    keywords: int = 0x8000000000000000
    process_id: int = 4
    thread_id: int = 8
    user_sid: str | None = None
    time_created_extra_ticks: int = 0
    record_filetime: int | None = None


def filetime(moment: datetime, extra_ticks: int = 0) -> int:
    """Convert an aware datetime to a FILETIME: 100 ns ticks since 1601-01-01 UTC.

    Raises:
        ValueError: the datetime is naive, or `extra_ticks` is outside 0-9.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"time {moment.isoformat()} is naive; give an aware datetime")
    if not 0 <= extra_ticks <= 9:
        raise ValueError(f"extra ticks {extra_ticks} must be 0-9 (100 ns each, below 1 us)")

    delta = moment - _FILETIME_EPOCH
    seconds = delta.days * 86400 + delta.seconds
    return seconds * 10_000_000 + delta.microseconds * 10 + extra_ticks


def uint_value(value_type: int, value: int) -> TypedValue:
    """Build an unsigned integer value of the given Binary XML type."""
    return TypedValue(value_type, struct.pack(_UINT_FORMATS[value_type], value))


def guid_value(text: str) -> TypedValue:
    """Build a GUID value from `xxxxxxxx-xxxx-...` text, with or without braces."""
    digits = text.strip("{}").replace("-", "")
    raw = bytes.fromhex(digits)
    if len(raw) != 16:
        raise ValueError(f"GUID {text!r} is invalid; expected 32 hexadecimal digits")

    # The first three groups are little-endian integers and the last two are plain bytes.
    payload = raw[3::-1] + raw[5:3:-1] + raw[7:5:-1] + raw[8:]
    return TypedValue(_TYPE_GUID, payload)


def sid_value(text: str) -> TypedValue:
    """Build a binary SID value from its `S-1-5-21-...` text form."""
    parts = text.split("-")
    if len(parts) < 3 or parts[0].upper() != "S":
        raise ValueError(f"SID {text!r} is invalid; expected S-<revision>-<authority>-...")

    revision, authority = int(parts[1]), int(parts[2])
    sub_authorities = [int(part) for part in parts[3:]]
    payload = bytes([revision, len(sub_authorities)]) + authority.to_bytes(6, "big")
    payload += b"".join(struct.pack("<I", sub) for sub in sub_authorities)
    return TypedValue(_TYPE_SID, payload)


def name_hash(name: str) -> int:
    """Return the 16-bit name hash that EVTX stores beside each element and attribute name."""
    value = 0
    for (code_unit,) in struct.iter_unpack("<H", name.encode("utf-16-le")):
        value = (value * 65599 + code_unit) & 0xFFFFFFFF
    return value & 0xFFFF


@dataclass(frozen=True)
class Element:
    """An XML element to encode: name, attributes, text and child elements."""

    name: str
    attributes: tuple[tuple[str, Value], ...] = ()
    text: Value | None = None
    children: tuple[Element, ...] = ()


class _ChunkNames:
    """The names defined so far in one chunk and the chunk's 64-bucket string table."""

    def __init__(self) -> None:
        self.offsets: dict[str, int] = {}
        self.buckets = [0] * _STRING_TABLE_BUCKETS


class _BinXmlWriter:
    """Encoder of one record's Binary XML, which must know where in its chunk the record starts.

    A name is written in full the first time a chunk uses it, at the offset its reference points
    to, and later records in the chunk refer back to that offset, as Windows does.
    """

    def __init__(self, chunk_offset: int, names: _ChunkNames) -> None:
        self.buffer = bytearray()
        self.base = chunk_offset
        self.names = names

    def write_name(self, text: str) -> None:
        known = self.names.offsets.get(text)
        if known is not None:
            self.buffer += struct.pack("<I", known)
            return

        offset = self.base + len(self.buffer) + 4
        bucket = name_hash(text) % _STRING_TABLE_BUCKETS
        self.buffer += struct.pack("<I", offset)
        self.buffer += struct.pack("<IHH", self.names.buckets[bucket], name_hash(text), len(text))
        self.buffer += text.encode("utf-16-le") + b"\x00\x00"
        self.names.offsets[text] = offset
        self.names.buckets[bucket] = offset

    def write_value(self, value: Value) -> None:
        if isinstance(value, TypedValue):
            self.buffer += bytes([_TOKEN_VALUE, value.value_type]) + value.payload
            return

        encoded = value.encode("utf-16-le")
        self.buffer += bytes([_TOKEN_VALUE, _TYPE_STRING])
        self.buffer += struct.pack("<H", len(encoded) // 2) + encoded

    def write_element(self, element: Element) -> None:
        token = _TOKEN_OPEN_START_ELEMENT | (_TOKEN_MORE_FLAG if element.attributes else 0)

        # pyevtx-rs 0.14 (evtx crate 0.13) expects no dependency identifier in an element header
        # outside a template definition, so the header is token, data size and name.
        self.buffer.append(token)
        size_at = len(self.buffer)
        self.buffer += b"\x00\x00\x00\x00"
        self.write_name(element.name)

        if element.attributes:
            list_size_at = len(self.buffer)
            self.buffer += b"\x00\x00\x00\x00"
            for index, (attribute, attribute_value) in enumerate(element.attributes):
                more = index < len(element.attributes) - 1
                self.buffer.append(_TOKEN_ATTRIBUTE | (_TOKEN_MORE_FLAG if more else 0))
                self.write_name(attribute)
                self.write_value(attribute_value)
            list_size = len(self.buffer) - list_size_at - 4
            struct.pack_into("<I", self.buffer, list_size_at, list_size)

        if element.text is None and not element.children:
            self.buffer.append(_TOKEN_CLOSE_EMPTY_ELEMENT)
        else:
            self.buffer.append(_TOKEN_CLOSE_START_ELEMENT)
            if element.text is not None:
                self.write_value(element.text)
            for child in element.children:
                self.write_element(child)
            self.buffer.append(_TOKEN_CLOSE_ELEMENT)

        # The data size counts every byte after the size field up to the end of the element.
        struct.pack_into("<I", self.buffer, size_at, len(self.buffer) - size_at - 4)


def event_element(spec: EventSpec) -> Element:
    """Build the `<Event>` tree of one event, with System fields in Windows' order."""
    provider_attributes: list[tuple[str, Value]] = [("Name", spec.provider)]
    if spec.provider_guid is not None:
        provider_attributes.append(("Guid", guid_value(spec.provider_guid)))
    event_id_attributes: tuple[tuple[str, Value], ...] = ()
    if spec.qualifiers is not None:
        event_id_attributes = (("Qualifiers", uint_value(_TYPE_UINT16, spec.qualifiers)),)
    security_attributes: tuple[tuple[str, Value], ...] = ()
    if spec.user_sid is not None:
        security_attributes = (("UserID", sid_value(spec.user_sid)),)

    system_time = filetime(spec.time_created, spec.time_created_extra_ticks)
    system = (
        Element("Provider", tuple(provider_attributes)),
        Element("EventID", event_id_attributes, uint_value(_TYPE_UINT16, spec.event_id)),
        Element("Version", text=uint_value(_TYPE_UINT8, spec.version)),
        Element("Level", text=uint_value(_TYPE_UINT8, spec.level)),
        Element("Task", text=uint_value(_TYPE_UINT16, spec.task)),
        Element("Opcode", text=uint_value(_TYPE_UINT8, spec.opcode)),
        Element("Keywords", text=uint_value(_TYPE_HEX_INT64, spec.keywords)),
        Element("TimeCreated", (("SystemTime", TypedValue(_TYPE_FILETIME, _u64(system_time))),)),
        Element("EventRecordID", text=uint_value(_TYPE_UINT64, spec.record_id)),
        Element("Correlation"),
        Element(
            "Execution",
            (
                ("ProcessID", uint_value(_TYPE_UINT32, spec.process_id)),
                ("ThreadID", uint_value(_TYPE_UINT32, spec.thread_id)),
            ),
        ),
        Element("Channel", text=spec.channel),
        Element("Computer", text=spec.computer),
        Element("Security", security_attributes),
    )
    data = tuple(Element("Data", (("Name", key),), value) for key, value in spec.data.items())
    return Element(
        "Event",
        (("xmlns", EVENT_NAMESPACE),),
        children=(Element("System", children=system), Element("EventData", children=data)),
    )


def _u64(value: int) -> bytes:
    return struct.pack("<Q", value)


def encode_record(spec: EventSpec, chunk_offset: int, names: _ChunkNames) -> bytes:
    """Encode one event record that will start at `chunk_offset` inside its chunk."""
    writer = _BinXmlWriter(chunk_offset + RECORD_HEADER_SIZE, names)
    writer.buffer += bytes([_TOKEN_FRAGMENT_HEADER, 1, 1, 0])
    writer.write_element(event_element(spec))
    writer.buffer.append(_TOKEN_END_OF_STREAM)

    written = spec.record_filetime
    if written is None:
        written = filetime(spec.time_created, spec.time_created_extra_ticks)
    size = RECORD_HEADER_SIZE + len(writer.buffer) + 4
    header = RECORD_MAGIC + struct.pack("<IQQ", size, spec.record_id, written)
    return header + bytes(writer.buffer) + struct.pack("<I", size)


class _ChunkBuilder:
    """Event records packed into one 65536-byte chunk."""

    def __init__(self) -> None:
        self.names = _ChunkNames()
        self.records = bytearray()
        self.record_ids: list[int] = []
        self.last_record_offset = 0

    @property
    def free_offset(self) -> int:
        return CHUNK_HEADER_SIZE + len(self.records)

    def try_add(self, spec: EventSpec) -> bool:
        """Append the event and return True, or return False when it does not fit."""
        saved_offsets = dict(self.names.offsets)
        saved_buckets = list(self.names.buckets)
        record = encode_record(spec, self.free_offset, self.names)
        if self.free_offset + len(record) > CHUNK_SIZE:
            # Names defined by the rejected record are not in this chunk, so forget them.
            self.names.offsets = saved_offsets
            self.names.buckets = saved_buckets
            return False

        self.last_record_offset = self.free_offset
        self.records += record
        self.record_ids.append(spec.record_id)
        return True

    def to_bytes(self) -> bytes:
        """Return the chunk with its header, string table and both CRC32 checksums."""
        chunk = bytearray(CHUNK_SIZE)
        first, last = self.record_ids[0], self.record_ids[-1]

        # Windows writes the same values as record numbers and record identifiers.
        struct.pack_into("<8sQQQQ", chunk, 0, CHUNK_MAGIC, first, last, first, last)
        struct.pack_into("<III", chunk, 40, 128, self.last_record_offset, self.free_offset)
        struct.pack_into(
            f"<{_STRING_TABLE_BUCKETS}I", chunk, _STRING_TABLE_OFFSET, *self.names.buckets
        )
        chunk[CHUNK_HEADER_SIZE : self.free_offset] = self.records
        struct.pack_into("<I", chunk, 52, zlib.crc32(self.records))

        # The header checksum skips bytes 120-128, which hold the flags and the checksum itself.
        header_crc = zlib.crc32(bytes(chunk[0:120]) + bytes(chunk[128:CHUNK_HEADER_SIZE]))
        struct.pack_into("<I", chunk, 124, header_crc)
        return bytes(chunk)


def _file_header(chunk_count: int, next_record_id: int) -> bytes:
    header = bytearray(FILE_HEADER_SIZE)
    last_chunk = max(chunk_count - 1, 0)
    struct.pack_into("<8sQQQ", header, 0, FILE_MAGIC, 0, last_chunk, next_record_id)

    # Header size 128, minor version 1, major version 3, header block size 4096, chunk count.
    struct.pack_into("<IHHHH", header, 32, 128, 1, 3, FILE_HEADER_SIZE, chunk_count)
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[0:120])))
    return bytes(header)


def build_evtx(events: Iterable[EventSpec]) -> bytes:
    """Encode the events, in the order given, as the bytes of an EVTX file.

    A new chunk starts whenever the next record does not fit in the current one.

    Raises:
        ValueError: an event is larger than an empty chunk can hold, or a time is invalid.
    """
    chunks: list[_ChunkBuilder] = []
    current = _ChunkBuilder()
    last_record_id = 0
    for spec in events:
        if not current.try_add(spec):
            if not current.record_ids:
                raise ValueError(
                    f"event record {spec.record_id} does not fit in one {CHUNK_SIZE}-byte chunk;"
                    " shorten its EventData values"
                )
            chunks.append(current)
            current = _ChunkBuilder()
            current.try_add(spec)
        last_record_id = max(last_record_id, spec.record_id)
    if current.record_ids:
        chunks.append(current)

    body = b"".join(chunk.to_bytes() for chunk in chunks)
    return _file_header(len(chunks), last_record_id + 1) + body


def write_evtx(path: str | Path, events: Iterable[EventSpec]) -> int:
    """Write the events to an EVTX file at `path` and return the number of chunks written."""
    content = build_evtx(events)
    Path(path).write_bytes(content)
    return (len(content) - FILE_HEADER_SIZE) // CHUNK_SIZE


def corrupt_chunk_magic(path: str | Path, chunk_index: int) -> None:
    """Overwrite the `ElfChnk` signature of chunk `chunk_index` (0-based) with `BadChnk`."""
    offset = FILE_HEADER_SIZE + chunk_index * CHUNK_SIZE
    with Path(path).open("r+b") as stream:
        stream.seek(offset)
        if stream.read(8) != CHUNK_MAGIC:
            raise ValueError(f"{path} has no chunk {chunk_index} at offset {offset}")
        stream.seek(offset)
        stream.write(b"BadChnk\x00")


def truncate_evtx(path: str | Path, size: int) -> None:
    """Cut the file to its first `size` bytes, as an interrupted copy would leave it."""
    with Path(path).open("r+b") as stream:
        stream.truncate(size)


def corrupt_record_size(
    path: str | Path, record_id: int, size: int = 0, *, fix_checksums: bool = True
) -> None:
    """Set the size field at the start of one event record to `size`.

    With `fix_checksums` the chunk's CRC32 values are recomputed, so the bad size is the only
    defect a reader can find.

    Raises:
        ValueError: no record with that id is in the file.
    """
    content = bytearray(Path(path).read_bytes())
    for chunk_start in range(FILE_HEADER_SIZE, len(content), CHUNK_SIZE):
        offset = _find_record(content, chunk_start, record_id)
        if offset is None:
            continue

        struct.pack_into("<I", content, offset + 4, size)
        if fix_checksums:
            _update_chunk_checksums(content, chunk_start)
        Path(path).write_bytes(bytes(content))
        return
    raise ValueError(f"{path} has no event record {record_id}")


def _find_record(content: bytearray, chunk_start: int, record_id: int) -> int | None:
    (free_offset,) = struct.unpack_from("<I", content, chunk_start + 48)
    offset = chunk_start + CHUNK_HEADER_SIZE
    while offset < chunk_start + free_offset:
        size, current_id = struct.unpack_from("<IQ", content, offset + 4)
        if current_id == record_id:
            return offset
        offset += size
    return None


def _update_chunk_checksums(content: bytearray, chunk_start: int) -> None:
    (free_offset,) = struct.unpack_from("<I", content, chunk_start + 48)
    records = bytes(content[chunk_start + CHUNK_HEADER_SIZE : chunk_start + free_offset])
    struct.pack_into("<I", content, chunk_start + 52, zlib.crc32(records))
    header = bytes(content[chunk_start : chunk_start + 120])
    header += bytes(content[chunk_start + 128 : chunk_start + CHUNK_HEADER_SIZE])
    struct.pack_into("<I", content, chunk_start + 124, zlib.crc32(header))
