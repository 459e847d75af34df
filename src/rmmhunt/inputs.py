"""Input discovery: walk paths, open files and standard input, hash files, pick a reader.

Inputs are opened read-only and never modified. Archives and standard input are unpacked and
buffered by `rmmhunt.archives`, within the limits it documents.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from rmmhunt.archives import (
    MAX_ARCHIVE_TOTAL_BYTES,
    MAX_BUFFERED_BYTES,
    MAX_COMPRESSION_RATIO,
    RATIO_CHECK_MIN_BYTES,
    SPOOL_MEMORY_BYTES,
    spool,
    unpack,
)
from rmmhunt.discovery import Discovery, InputFailure, InputRecord, SkippedPath
from rmmhunt.errors import InputError
from rmmhunt.readers.base import InputFile, Reader
from rmmhunt.readers.jsondecode import raw_decode
from rmmhunt.readers.textstream import head_text, is_utf16

# Capture formats that public data sets ship beside their event logs. Naming them in the message
# shows that the file is out of scope rather than damaged. The magic numbers are those that
# Wireshark's wiretap/mime_file.c lists for pcap (both byte orders, micro- and nanosecond) and
# pcapng.
_NOT_TELEMETRY_MAGIC: dict[bytes, str] = {
    b"\xd4\xc3\xb2\xa1": "a packet capture (pcap)",
    b"\xa1\xb2\xc3\xd4": "a packet capture (pcap)",
    b"\x4d\x3c\xb2\xa1": "a packet capture (pcap)",
    b"\xa1\xb2\x3c\x4d": "a packet capture (pcap)",
    b"\x0a\x0d\x0d\x0a": "a packet capture (pcapng)",
}


def iter_paths(paths: list[str], discovery: Discovery) -> Iterator[tuple[str, Path | None]]:
    """Expand the given paths: directories recursively in sorted order, `-` as standard input.

    Yields `(display, path)` pairs; `path` is None for standard input. Paths that do not exist or
    cannot be listed are added to `discovery.failures`. Inside directories, hidden files are read
    and symbolic links to directories are followed, but each real directory is walked once, and
    entries that are not regular files (FIFOs, sockets, devices) are listed in
    `discovery.skipped` rather than opened, because opening a FIFO blocks until a writer appears.
    """
    walked: set[tuple[int, int]] = set()
    for given in paths:
        if given == "-":
            yield "-", None
            continue

        path = Path(given)
        if path.is_dir():
            yield from _walk_directory(path, discovery, walked)
        elif path.is_file():
            yield str(path), path
        elif path.exists():
            discovery.failures.append(InputFailure(str(path), "not a regular file or directory"))
        else:
            discovery.failures.append(
                InputFailure(str(path), "file not found: check the path and try again")
            )


def _walk_directory(
    root: Path, discovery: Discovery, walked: set[tuple[int, int]]
) -> Iterator[tuple[str, Path]]:
    # A stack rather than os.walk, because os.walk either ignores links to directories or
    # follows them without loop protection. Entries are pushed in reverse to pop sorted.
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            status = directory.stat()
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError as error:
            reason = f"cannot list directory: {error.strerror or error}"
            discovery.failures.append(InputFailure(str(directory), reason))
            continue

        identity = (status.st_dev, status.st_ino)
        if identity in walked:
            discovery.skipped.append(SkippedPath(str(directory), _ALREADY_WALKED))
            continue
        walked.add(identity)

        subdirectories: list[Path] = []
        for entry in entries:
            path = Path(entry.path)
            kind, reason = _classify_entry(entry)
            if kind == "directory":
                subdirectories.append(path)
            elif kind == "file":
                yield str(path), path
            else:
                discovery.skipped.append(SkippedPath(str(path), reason))
        pending.extend(reversed(subdirectories))


_ALREADY_WALKED = "directory already read through another path (a symbolic link or a loop)"


def _classify_entry(entry: os.DirEntry[str]) -> tuple[str, str]:
    """Return `("file", "")`, `("directory", "")`, or `("skip", reason)`, following links."""
    try:
        status = entry.stat(follow_symlinks=True)
    except FileNotFoundError:
        return "skip", "broken symbolic link: its target does not exist"
    except OSError as error:
        return "skip", f"cannot read the file status: {error.strerror or error}"

    if stat.S_ISDIR(status.st_mode):
        return "directory", ""
    if stat.S_ISREG(status.st_mode):
        return "file", ""
    if stat.S_ISFIFO(status.st_mode):
        kind = "a FIFO (named pipe)"
    elif stat.S_ISSOCK(status.st_mode):
        kind = "a socket"
    elif stat.S_ISCHR(status.st_mode) or stat.S_ISBLK(status.st_mode):
        kind = "a device"
    else:
        kind = "a special file"
    return "skip", f"not a regular file but {kind}; copy its content to a file to read it"


def open_inputs(display: str, path: Path | None, discovery: Discovery) -> Iterator[InputFile]:
    """Open one path (or stdin) and yield its readable streams, unpacking gzip and zip archives.

    The file's SHA-256 is recorded in `discovery.inputs`. Errors that make the file unreadable
    are recorded in `discovery.failures`; a bad archive member fails alone.
    """
    try:
        if path is None:
            stream: BinaryIO = spool(sys.stdin.buffer, "-")
        else:
            stream = path.open("rb")
    except (OSError, InputError) as error:
        reason = error.message if isinstance(error, InputError) else str(error)
        discovery.failures.append(InputFailure(display, reason))
        return

    with stream:
        record = InputRecord(display, None, None)
        try:
            record.sha256, record.size = _hash_stream(stream)
        except OSError as error:
            discovery.failures.append(InputFailure(display, f"cannot read file: {error}"))
            return
        discovery.inputs.append(record)
        yield from unpack(display, stream, discovery, record)


def _hash_stream(stream: BinaryIO) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    stream.seek(0)
    while True:
        block = stream.read(1024 * 1024)
        if not block:
            break
        digest.update(block)
        size += len(block)
    stream.seek(0)
    return digest.hexdigest(), size


def detect_reader(source: InputFile, readers: list[Reader]) -> Reader | None:
    """Return the first reader that accepts the input's content, or None."""
    name = source.display.rsplit("!", 1)[-1]
    for reader in readers:
        if reader.detect(source.head, name):
            return reader
    return None


def describe_unknown(source: InputFile, readers: list[Reader]) -> str:
    """Describe a file no reader recognised: formats tried, and the keys or header it has."""
    tried = ", ".join(reader.format_name for reader in readers) or "none"
    head = source.head
    if not head:
        found = "the file is empty"
    else:
        found = f"first bytes {_printable_prefix(head)}"
        kind = _NOT_TELEMETRY_MAGIC.get(head[:4])
        if kind is not None:
            found += f"; this is {kind}, which holds network packets, not event telemetry"
        keys = _sniff_keys(head)
        if keys:
            found += f"; keys or header found: {keys}"
        if is_utf16(head):
            found += (
                "; the file is UTF-16 text, which only some readers accept: convert it to UTF-8 "
                "(for example `iconv -f UTF-16 -t UTF-8`) and read it again"
            )
    return f"no reader recognises this format (tried: {tried}); {found}"


def _printable_prefix(head: bytes, limit: int = 16) -> str:
    prefix = head[:limit]
    text = "".join(chr(b) if 32 <= b < 127 else "." for b in prefix)
    return f"{prefix.hex(' ')} ({text!r})"


def _sniff_keys(head: bytes) -> str | None:
    text = head_text(head).lstrip("\ufeff \t\r\n")
    if text.startswith(("{", "[")):
        body = text.lstrip("[ \t\r\n")
        try:
            value, _ = raw_decode(body)
        except ValueError:
            return None
        if isinstance(value, dict):
            return ", ".join(sorted(str(key) for key in value)[:20])
        return None
    first_line = text.splitlines()[0] if text else ""
    if "," in first_line or "\t" in first_line:
        return first_line[:200]
    return None


def copy_limit_note() -> str:
    """Describe the buffering limits, for the README and the help text."""
    return (
        f"archive members and stdin are buffered up to {MAX_BUFFERED_BYTES // 1024**3} GiB "
        f"({SPOOL_MEMORY_BYTES // 1024**2} MiB in memory, the rest in a temporary file); "
        f"one input archive expands to at most {MAX_ARCHIVE_TOTAL_BYTES // 1024**3} GiB in all, "
        f"and a member over {RATIO_CHECK_MIN_BYTES // 1024**2} MiB to at most "
        f"{MAX_COMPRESSION_RATIO} times its compressed size"
    )


__all__ = [
    "MAX_BUFFERED_BYTES",
    "Discovery",
    "InputFailure",
    "InputRecord",
    "SkippedPath",
    "copy_limit_note",
    "describe_unknown",
    "detect_reader",
    "iter_paths",
    "open_inputs",
]
