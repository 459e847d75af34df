"""EVTX file and chunk headers, and the ledger that finds records a parser lost inside a chunk.

An EVTX file is a 4 KiB file header followed by 64 KiB chunks. Each chunk header contains the first
and last event record number and event record identifier (little-endian u64 at offsets 8, 16, 24
and 32). A parser that gives up inside a damaged chunk can return fewer records than the header
lists without raising, so the reader compares the two.
Source: Joachim Metz, "Windows XML Event Log (EVTX) format" (libevtx documentation).
"""

from __future__ import annotations

import bisect
import struct
from dataclasses import dataclass, field
from typing import BinaryIO, Final

FILE_MAGIC: Final = b"ElfFile\0"
CHUNK_MAGIC: Final = b"ElfChnk\0"
FILE_HEADER_SIZE: Final = 4096
CHUNK_SIZE: Final = 64 * 1024
CHUNK_HEADER_SIZE: Final = 512
FILE_HEADER_FIELDS_SIZE: Final = 128

# The smallest record is 24 header bytes plus a little binary XML, so a chunk cannot hold more
# records than this. A header that claims more is garbage.
MAX_RECORDS_PER_CHUNK: Final = (CHUNK_SIZE - CHUNK_HEADER_SIZE) // 28

_FILE_HEADER: Final = struct.Struct("<8sQQQIHHHH")
_CHUNK_RANGE: Final = struct.Struct("<8sQQQQ")


@dataclass(frozen=True)
class FileHeader:
    """The fields of the EVTX file header that the reader reports."""

    first_chunk: int
    last_chunk: int
    next_record_id: int
    major_version: int
    minor_version: int
    chunk_count: int


@dataclass(frozen=True)
class ChunkHeader:
    """One readable chunk header: where it is and which record ids it lists."""

    index: int
    offset: int
    first_record_id: int
    last_record_id: int

    @property
    def record_count(self) -> int:
        """Number of records the header lists."""
        return self.last_record_id - self.first_record_id + 1

    def contains(self, record_id: int) -> bool:
        """Tell whether a record id is in the header's range."""
        return self.first_record_id <= record_id <= self.last_record_id


@dataclass(frozen=True)
class ChunkScan:
    """The result of reading every chunk header of a file.

    Attributes:
        chunks: the readable chunk headers, in file order.
        invalid: indexes of chunks whose header is neither valid nor all zero bytes.
        empty: the number of unused chunks (all-zero header).
    """

    chunks: list[ChunkHeader]
    invalid: list[int]
    empty: int


def parse_file_header(head: bytes) -> FileHeader:
    """Parse the EVTX file header.

    Raises:
        ValueError: when the bytes are too short or do not start with `ElfFile\\0`.
    """
    if len(head) < FILE_HEADER_FIELDS_SIZE:
        raise ValueError(f"file header truncated at {len(head)} bytes")
    magic, first, last, next_id, _size, minor, major, _block, count = _FILE_HEADER.unpack_from(head)
    if magic != FILE_MAGIC:
        raise ValueError("file header magic ElfFile is missing")
    return FileHeader(first, last, next_id, major, minor, count)


def scan_chunks(stream: BinaryIO) -> ChunkScan:
    """Read every chunk header after the file header, and leave the stream at its start."""
    chunks: list[ChunkHeader] = []
    invalid: list[int] = []
    empty = 0
    index = 0
    while True:
        offset = FILE_HEADER_SIZE + index * CHUNK_SIZE
        stream.seek(offset)
        raw = stream.read(_CHUNK_RANGE.size)
        if len(raw) < _CHUNK_RANGE.size:
            break
        magic, _first_number, _last_number, first_id, last_id = _CHUNK_RANGE.unpack(raw)
        if magic == CHUNK_MAGIC and first_id <= last_id < first_id + MAX_RECORDS_PER_CHUNK:
            chunks.append(ChunkHeader(index, offset, first_id, last_id))
        elif raw == bytes(len(raw)):
            empty += 1
        else:
            invalid.append(index)
        index += 1
    stream.seek(0)
    return ChunkScan(chunks, invalid, empty)


@dataclass(frozen=True)
class Truncation:
    """The records and chunks that the file header lists beyond the data in the file.

    Attributes:
        missing_records: records with ids after the highest one that a chunk header in the file
            lists, up to the header's next record id; 0 when no chunk header is in the file.
            Records of a chunk whose header is in the file are left to the chunk ledger, so no
            record is counted twice.
        missing_chunks: chunks the file header counts whose header is not in the file.
        last_record_id: the highest record id that a chunk header in the file lists, or 0.
        listed_chunks: the file header's chunk count.
        next_record_id: the file header's next record id.
    """

    missing_records: int
    missing_chunks: int
    last_record_id: int
    listed_chunks: int
    next_record_id: int


def find_truncation(header: FileHeader, scan: ChunkScan) -> Truncation:
    """Compare the file header's chunk count and next record id with the chunks in the file.

    A complete file never lists more: in the public samples a header that was not updated on
    close lists fewer, never more, so only a shortfall is reported.
    """
    chunks_in_file = len(scan.chunks) + len(scan.invalid) + scan.empty
    last_record_id = max((chunk.last_record_id for chunk in scan.chunks), default=0)
    # Without a chunk header the first record id is unknown (a log that wrapped around starts
    # past 1), so only the missing chunks are counted then.
    missing_records = header.next_record_id - 1 - last_record_id if scan.chunks else 0
    return Truncation(
        missing_records=max(0, missing_records),
        missing_chunks=max(0, header.chunk_count - chunks_in_file),
        last_record_id=last_record_id,
        listed_chunks=header.chunk_count,
        next_record_id=header.next_record_id,
    )


@dataclass(frozen=True)
class ChunkGap:
    """Records that a chunk header lists but that the parser neither returned nor failed on."""

    chunk: ChunkHeader
    returned: int
    errors: int

    @property
    def missing(self) -> int:
        """Number of records lost without an error."""
        return self.chunk.record_count - self.returned - self.errors


@dataclass
class ChunkLedger:
    """Attribute returned records and parser errors to chunks, and report the gaps.

    The parser returns chunks in file order, so a record goes to the current chunk when its id is
    in that chunk's range and otherwise to the chunk whose range contains it. Errors that name no
    record are placed at the end, in the current chunk if it still has unreturned records, else in
    the next chunk that has. That way a failed record is never counted again as missing.
    """

    chunks: list[ChunkHeader]
    _position: int = 0
    _returned: list[int] = field(default_factory=list)
    _errors: list[int] = field(default_factory=list)
    _stale: list[bool] = field(default_factory=list)
    _pending: list[int] = field(default_factory=list)
    _by_first_id: list[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        count = len(self.chunks)
        self._returned = [0] * count
        self._errors = [0] * count
        self._stale = [False] * count
        self._by_first_id = sorted((c.first_record_id, i) for i, c in enumerate(self.chunks))

    def add_record(self, record_id: int) -> None:
        """Count one record the parser returned."""
        if not self.chunks:
            return
        current = self.chunks[self._position]
        if not current.contains(record_id):
            found = self._find(record_id)
            if found is None:
                # A chunk recovered from a shadow copy or left dirty can hold records outside the
                # range its header lists. Its header cannot then tell how many records are lost.
                self._stale[self._position] = True
                return
            self._position = found
        self._returned[self._position] += 1

    def add_error(self, *, chunk_index: int | None = None, record_id: int | None = None) -> None:
        """Count one parser error, located by chunk index or record id when the message has one."""
        if not self.chunks:
            return
        position = None
        if chunk_index is not None:
            position = next((i for i, c in enumerate(self.chunks) if c.index == chunk_index), None)
            if position is None:
                # A chunk without a readable header lists no records, so it has no gap to adjust.
                return
        elif record_id is not None:
            position = self._find(record_id)
        if position is None:
            self._pending.append(self._position)
            return
        self._position = position
        self._errors[position] += 1

    def current_chunk(self) -> ChunkHeader | None:
        """Return the chunk the parser was last seen in."""
        return self.chunks[self._position] if self.chunks else None

    def gaps(self) -> list[ChunkGap]:
        """Place the unlocated errors and return the chunks with records lost without an error."""
        for position in self._pending:
            target = next(
                (i for i in range(position, len(self.chunks)) if self._unaccounted(i) > 0), None
            )
            if target is not None:
                self._errors[target] += 1
        self._pending.clear()

        result = []
        for i, chunk in enumerate(self.chunks):
            if self._stale[i] or self._unaccounted(i) <= 0:
                continue
            result.append(ChunkGap(chunk, self._returned[i], self._errors[i]))
        return result

    def stale_chunks(self) -> list[ChunkHeader]:
        """Return the chunks that returned records outside their header's range."""
        return [c for c, stale in zip(self.chunks, self._stale, strict=True) if stale]

    def _unaccounted(self, position: int) -> int:
        chunk = self.chunks[position]
        return chunk.record_count - self._returned[position] - self._errors[position]

    def _find(self, record_id: int) -> int | None:
        following = self._position + 1
        if following < len(self.chunks) and self.chunks[following].contains(record_id):
            return following
        slot = bisect.bisect_right(self._by_first_id, (record_id, len(self.chunks))) - 1
        if slot >= 0:
            position = self._by_first_id[slot][1]
            if self.chunks[position].contains(record_id):
                return position
        return None
