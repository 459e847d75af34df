"""The contract every reader follows: detect a format from content, then stream rows and counts.

A reader counts every record it reads. Each record either becomes one row (normalised) or is
counted as skipped under a named reason, so that `records_read` always equals `records_normalised`
plus the skipped counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO, Protocol

from rmmhunt.errors import InputError
from rmmhunt.schema import Row

HEAD_SIZE = 64 * 1024
"""Bytes of each input that detection looks at."""

MAX_WARNINGS_KEPT = 200
"""Located warnings kept for the summary; later ones are only counted."""


@dataclass
class InputFile:
    """One input stream, already opened and decompressed.

    Attributes:
        display: the name shown in messages and provenance, such as `logs.zip!Security.evtx`.
        stream: a seekable binary stream positioned at its start.
        head: the first HEAD_SIZE bytes, for detection.
    """

    display: str
    stream: BinaryIO
    head: bytes


@dataclass
class ReadOptions:
    """Settings that change how readers interpret values."""

    input_tz: timedelta | None = None
    input_time_format: str | None = None
    field_map: Path | None = None


@dataclass
class ReadStats:
    """Record accounting for one run, shared by all readers."""

    records_read: int = 0
    records_normalised: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    warning_count: int = 0

    def skip(self, reason: str, count: int = 1) -> None:
        """Count `count` records read and skipped under `reason` (a snake_case name)."""
        self.records_read += count
        self.skipped[reason] += count

    def warn(self, error: InputError) -> None:
        """Keep a located warning for the summary and the log."""
        self.warning_count += 1
        if len(self.warnings) < MAX_WARNINGS_KEPT:
            self.warnings.append(str(error))


class Reader(Protocol):
    """A source family's reader. Implementations live one per module in this package."""

    format_name: str
    """Short name shown in the summary and in `source_format`, such as `evtx` or `xdr-json`."""

    def detect(self, head: bytes, name: str) -> bool:
        """Return whether this reader can read the input, judged by its first bytes.

        The file name only breaks ties between readers.
        """
        ...

    def read(self, source: InputFile, stats: ReadStats, options: ReadOptions) -> Iterator[Row]:
        """Yield one row per normalised record, counting reads and skips in `stats`.

        For each record read the reader either increments `stats.records_read` and yields a row,
        or calls `stats.skip(reason)`. A bad record is reported with `stats.warn` and skipped; it
        never stops the file. An error that makes the whole file unreadable raises InputError.
        """
        ...
