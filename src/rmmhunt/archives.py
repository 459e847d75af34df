"""Unpack gzip and zip inputs into seekable buffers, within size and compression limits.

Archive members and standard input are buffered in spooled temporary files (in memory up to
SPOOL_MEMORY_BYTES, then in the system's temporary directory, never next to the inputs), because
pyevtx-rs and format detection need a seekable stream.

Three limits keep a hostile archive from filling the disk or running for hours: a cap per member
(MAX_BUFFERED_BYTES), a cap on everything that one input expands to, nested archives included
(MAX_ARCHIVE_TOTAL_BYTES), and a compression ratio guard (MAX_COMPRESSION_RATIO). Each stops the
member with an error that names the limit.

A damaged member (a truncated gzip, a corrupt deflate stream, a CRC mismatch) keeps the data that
decompressed before the damage. That data is read, and the member is also listed as failed with
the decompressed byte offset where its data ends.
"""

from __future__ import annotations

import gzip
import io
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Final, Protocol

from rmmhunt.discovery import Discovery, InputFailure, InputRecord
from rmmhunt.errors import InputError
from rmmhunt.readers.base import HEAD_SIZE, InputFile
from rmmhunt.zipraw import RawMemberReader

SPOOL_MEMORY_BYTES: Final = 64 * 1024 * 1024
"""Archive members and stdin stay in memory up to this size, then spill to a temporary file."""

MAX_BUFFERED_BYTES: Final = 8 * 1024 * 1024 * 1024
"""Largest archive member or standard input that is buffered; larger ones fail with an error."""

MAX_ARCHIVE_TOTAL_BYTES: Final = 16 * 1024 * 1024 * 1024
"""Maximum number of bytes that all members of one input archive expand to, nested ones included."""

MAX_COMPRESSION_RATIO: Final = 200
"""Largest ratio of a member's expanded size to its compressed size. Deflate reaches about
1,000:1 on repeated bytes, as zip bombs use, while the public Security-Datasets zips reach 60:1."""

RATIO_CHECK_MIN_BYTES: Final = 64 * 1024 * 1024
"""Members that expand to less than this are not held to MAX_COMPRESSION_RATIO, because a
small, highly compressible file (a mostly empty EVTX) costs little."""

MAX_ARCHIVE_DEPTH: Final = 3
"""Archives nested deeper than this (a zip in a zip in a zip ...) are not opened."""

# Reading in small blocks bounds what a damaged member loses: the block in which the
# decompressor fails is lost with the damage.
_BLOCK_SIZE: Final = 64 * 1024

_GZIP_MAGIC: Final = b"\x1f\x8b"
_ZIP_MAGIC: Final = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC: Final = b"PK\x05\x06"

# Errors that gzip and zipfile raise on damaged data. zipfile raises BadZipFile for a CRC
# mismatch and zlib.error for a corrupt deflate stream. gzip raises EOFError when the data ends
# early and BadGzipFile (an OSError) for a bad header.
_DAMAGE_ERRORS: Final = (OSError, EOFError, zlib.error, zipfile.BadZipFile)


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass
class Budget:
    """The part of MAX_ARCHIVE_TOTAL_BYTES still available to one input and its nested archives."""

    remaining: int = field(default_factory=lambda: MAX_ARCHIVE_TOTAL_BYTES)


@dataclass
class Spooled:
    """A buffered member: its stream, and the damage that ended it early, if any."""

    stream: BinaryIO
    size: int
    damage: str | None = None


def spool(source: _Readable, display: str) -> BinaryIO:
    """Buffer a whole stream, such as standard input, within MAX_BUFFERED_BYTES.

    Raises:
        InputError: the stream is larger than MAX_BUFFERED_BYTES.
        OSError: reading failed.
    """
    spooled = _spool(source, display, compressed_size=None, budget=None)
    return spooled.stream


def unpack(
    display: str, stream: BinaryIO, discovery: Discovery, record: InputRecord
) -> Iterator[InputFile]:
    """Yield the readable streams of one input, unpacking gzip and zip archives in it."""
    yield from _unpack(display, stream, discovery, depth=0, record=record, budget=Budget())


def _unpack(
    display: str,
    stream: BinaryIO,
    discovery: Discovery,
    *,
    depth: int,
    record: InputRecord,
    budget: Budget,
) -> Iterator[InputFile]:
    head = _read_head(stream)
    if depth >= MAX_ARCHIVE_DEPTH and head.startswith((_GZIP_MAGIC, _ZIP_MAGIC)):
        discovery.failures.append(
            InputFailure(display, f"archive nested more than {MAX_ARCHIVE_DEPTH} levels deep")
        )
        return

    if head.startswith(_GZIP_MAGIC):
        yield from _unpack_gzip(display, stream, discovery, depth, record, budget)
    elif head.startswith((_ZIP_MAGIC, _EMPTY_ZIP_MAGIC)):
        yield from _unpack_zip(display, stream, discovery, depth, record, budget)
    else:
        yield InputFile(display=display, stream=stream, head=head)


def _unpack_gzip(
    display: str,
    stream: BinaryIO,
    discovery: Discovery,
    depth: int,
    record: InputRecord,
    budget: Budget,
) -> Iterator[InputFile]:
    member_display = f"{display}!{_gzip_member_name(display)}"
    compressed_size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    try:
        with gzip.GzipFile(fileobj=stream, mode="rb") as packed:
            spooled = _spool(packed, member_display, compressed_size=compressed_size, budget=budget)
    except InputError as error:
        discovery.failures.append(InputFailure(member_display, error.message))
        return
    except _DAMAGE_ERRORS as error:
        # Only errors before the first byte reach here; later damage is in spooled.damage.
        discovery.failures.append(InputFailure(display, _damaged_at_start(error)))
        return

    yield from _unpack_member(member_display, spooled, discovery, depth, record, budget)


def _unpack_zip(
    display: str,
    stream: BinaryIO,
    discovery: Discovery,
    depth: int,
    record: InputRecord,
    budget: Budget,
) -> Iterator[InputFile]:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError) as error:
        discovery.failures.append(InputFailure(display, f"invalid zip archive: {error}"))
        return

    with archive:
        for info in archive.infolist():
            if info.is_dir() or info.filename.startswith("__MACOSX/"):
                continue
            member_display = f"{display}!{info.filename}"
            spooled = _spool_zip_member(archive, info, member_display, discovery, budget)
            if spooled is not None:
                yield from _unpack_member(member_display, spooled, discovery, depth, record, budget)


def _spool_zip_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    display: str,
    discovery: Discovery,
    budget: Budget,
) -> Spooled | None:
    """Buffer one zip member, or record why it cannot be read and return None."""
    if info.file_size > MAX_BUFFERED_BYTES:
        discovery.failures.append(InputFailure(display, _too_large(info.file_size)))
        return None
    try:
        return _spool_zip_data(archive, info, display, budget)
    except InputError as error:
        discovery.failures.append(InputFailure(display, error.message))
    except _DAMAGE_ERRORS as error:
        discovery.failures.append(InputFailure(display, _damaged_at_start(error)))
    except RuntimeError as error:
        # zipfile raises RuntimeError for encrypted members.
        discovery.failures.append(InputFailure(display, str(error)))
    return None


def _spool_zip_data(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, display: str, budget: Budget
) -> Spooled:
    """Buffer a zip member through zipfile, or through RawMemberReader when it is damaged."""
    try:
        with archive.open(info) as packed:
            spooled = _spool(packed, display, compressed_size=info.compress_size, budget=budget)
    except _DAMAGE_ERRORS:
        spooled = None
    if spooled is not None and spooled.damage is None:
        return spooled

    # zipfile drops the block in which it meets damage, and a small member is one block, so
    # the member is read again from its raw bytes to keep everything before the damage.
    if spooled is not None:
        spooled.stream.close()
        budget.remaining += spooled.size
    raw = RawMemberReader(archive, info)
    return _spool(raw, display, compressed_size=info.compress_size, budget=budget)


def _unpack_member(
    display: str,
    spooled: Spooled,
    discovery: Discovery,
    depth: int,
    record: InputRecord,
    budget: Budget,
) -> Iterator[InputFile]:
    """Yield a buffered member's streams, and list it as failed when damage cut it short."""
    with spooled.stream:
        if spooled.damage is not None:
            reason = (
                f"damaged compressed data ({spooled.damage}); the data ends at decompressed byte "
                f"offset {spooled.size}, and the member was read only up to there"
            )
            discovery.failures.append(InputFailure(display, reason))
            if spooled.size == 0:
                return
        record.members += 1
        yield from _unpack(
            display, spooled.stream, discovery, depth=depth + 1, record=record, budget=budget
        )


def _spool(
    source: _Readable,
    display: str,
    *,
    compressed_size: int | None,
    budget: Budget | None,
) -> Spooled:
    """Copy a stream into a spooled temporary file, within the limits; the caller closes it.

    Damage after the first byte ends the copy and is returned in `Spooled.damage`, so that the
    data before it is read. Damage at the start is raised.

    Raises:
        InputError: a limit was exceeded.
        OSError, EOFError, zlib.error, zipfile.BadZipFile: damage before the first byte.
    """
    spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES, mode="w+b")  # noqa: SIM115
    copied = 0
    damage: str | None = None
    try:
        while True:
            try:
                block = _read_block(source)
            except _DAMAGE_ERRORS as error:
                if copied == 0:
                    raise
                damage = _describe(error)
                break
            if not block:
                break
            copied += len(block)
            _check_limits(copied, len(block), display, compressed_size, budget)
            spooled.write(block)
    except BaseException:
        spooled.close()
        raise
    spooled.seek(0)
    return Spooled(stream=spooled, size=copied, damage=damage)  # type: ignore[arg-type]


def _read_block(source: _Readable) -> bytes:
    # read1 decompresses at most one block, so the data before a damaged block is kept.
    read1 = getattr(source, "read1", None)
    if read1 is not None:
        block: bytes = read1(_BLOCK_SIZE)
        return block
    return source.read(_BLOCK_SIZE)


def _check_limits(
    copied: int, added: int, display: str, compressed_size: int | None, budget: Budget | None
) -> None:
    hint = "extract the archive with a tool you trust and pass the extracted files"
    if copied > MAX_BUFFERED_BYTES:
        raise InputError(
            _too_large(copied), path=display, hint="extract it to disk and pass the extracted file"
        )
    if budget is not None:
        budget.remaining -= added
        if budget.remaining < 0:
            raise InputError(
                f"the archive expands to more than the total cap of {MAX_ARCHIVE_TOTAL_BYTES} "
                "bytes for one input, so this member and the rest are not read",
                path=display,
                hint=hint,
            )
    if (
        compressed_size is not None
        and copied > RATIO_CHECK_MIN_BYTES
        and copied > MAX_COMPRESSION_RATIO * max(compressed_size, 1)
    ):
        raise InputError(
            f"member expands from {compressed_size} to more than {copied} bytes, a compression "
            f"ratio over {MAX_COMPRESSION_RATIO}:1, which is typical of a zip bomb",
            path=display,
            hint=hint,
        )


def _read_head(stream: BinaryIO) -> bytes:
    stream.seek(0)
    head = stream.read(HEAD_SIZE)
    stream.seek(0)
    return head


def _gzip_member_name(display: str) -> str:
    name = display.rsplit("!", 1)[-1]
    name = Path(name.replace("\\", "/")).name
    if name.lower().endswith(".gz"):
        return name[:-3]
    if name.lower().endswith(".tgz"):
        return name[:-4] + ".tar"
    return name or "stdin"


def _damaged_at_start(error: BaseException) -> str:
    return (
        f"damaged compressed data ({_describe(error)}); the data ends at decompressed byte "
        "offset 0, so nothing of it was read"
    )


def _too_large(size: int) -> str:
    return (
        f"archive member or stream of {size} bytes is larger than the buffer cap of "
        f"{MAX_BUFFERED_BYTES} bytes"
    )


def _describe(error: BaseException) -> str:
    if isinstance(error, InputError):
        return error.message
    return str(error) or type(error).__name__
