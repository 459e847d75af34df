"""Streaming JSON records with line numbers: JSON lines, JSON arrays and concatenated objects.

One decoder serves every layout that event-log JSON exports use:

- JSON lines (NDJSON), one object per line;
- one JSON array of objects, pretty-printed or on one line (`ConvertTo-Json`, NXLog);
- pretty-printed objects one after another, optionally preceded by `Record N` lines, as
  `evtx_dump -o json` writes them.

Records are decoded one at a time from a sliding text buffer, so memory use is bounded by the
largest record, not the file. A malformed record is returned as a `JsonRecord` with an error, and
decoding resumes at the next line that starts a record at the same indentation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final

from rmmhunt.readers.jsondecode import JsonDepthError, raw_decode
from rmmhunt.readers.textstream import head_text, iter_text_chunks

MAX_RECORD_CHARS: Final = 64 * 1024 * 1024
"""Largest single JSON value decoded; a larger one is reported as malformed."""

# A decode error this close to the end of the buffer may only mean that the record continues in
# the next chunk, so the decoder reads more before it calls the record malformed.
_TAIL_MARGIN: Final = 64

_INDENT_KEPT: Final = 256

_SEPARATOR: Final = re.compile(r"Record (\d+)[ \t]*\r?(?:\n|$)")
_SPACE: Final = re.compile(r"[ \t\r\n,]*")


@dataclass(frozen=True)
class JsonRecord:
    """One top-level JSON value read from a stream.

    Attributes:
        line: the 1-based line on which the value starts.
        value: the decoded value, or None when it is malformed.
        error: why the value could not be decoded, or None.
        label: the number of the `Record N` line before the value, as `evtx_dump` writes it.
    """

    line: int
    value: object
    error: str | None = None
    label: str | None = None


def first_json_value(head: bytes) -> object:
    """Decode the first complete JSON value of a detection head, or return None.

    A leading `[` is stepped into, so an array's first element is returned, and `Record N` lines
    are skipped. Detection uses this to look at one record without reading the file.
    """
    text = head_text(head)
    separator = _SEPARATOR.match(text)
    if separator:
        text = text[separator.end() :].lstrip()
    if text.startswith("["):
        text = text[1:].lstrip()
    try:
        value, _ = raw_decode(text)
    except json.JSONDecodeError:
        return None
    return value


def iter_json_records(stream: BinaryIO, head: bytes) -> Iterator[JsonRecord]:
    """Yield every top-level JSON value of a stream, and each element of a top-level array."""
    yield from _JsonScanner(iter_text_chunks(stream, head)).records()


class _JsonScanner:
    """A sliding window over the text of one stream, with the line number of its start."""

    def __init__(self, chunks: Iterator[str]) -> None:
        self._chunks = chunks
        self._buffer = ""
        self._pos = 0
        self._line = 1
        # Characters dropped from the buffer's front, and where the current line starts, both
        # counted from the start of the stream, so that columns stay right in one-line arrays.
        self._dropped = 0
        self._line_start = 0
        self._eof = False
        self._in_array = False

    def records(self) -> Iterator[JsonRecord]:
        label: str | None = None
        self._fill()
        self._skip_space()
        if self._peek() == "[":
            self._in_array = True
            self._advance(1)

        while True:
            self._skip_space()
            if self._at_end():
                return
            separator = self._match_separator()
            if separator is not None:
                label = separator
                continue
            if self._in_array and self._peek() == "]":
                self._advance(1)
                self._in_array = False
                continue
            yield self._decode_one(label)
            label = None

    def _decode_one(self, label: str | None) -> JsonRecord:
        line = self._line
        while True:
            try:
                value, end = raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError as error:
                if self._may_need_more(error) and self._grow():
                    continue
                message = (
                    f"invalid JSON: {error.msg} at line {self._line_of(error.pos)}, "
                    f"column {self._column_of(error.pos)}"
                )
                if isinstance(error, JsonDepthError) and error.end is not None:
                    # The value's end is known, so reading resumes right after it.
                    self._advance(error.end - self._pos)
                else:
                    self._resynchronise()
                return JsonRecord(line=line, value=None, error=message, label=label)
            self._advance(end - self._pos)
            return JsonRecord(line=line, value=value, label=label)

    def _may_need_more(self, error: json.JSONDecodeError) -> bool:
        if self._eof or len(self._buffer) - self._pos > MAX_RECORD_CHARS:
            return False
        if isinstance(error, JsonDepthError):
            return error.end is None
        near_end = error.pos >= len(self._buffer) - _TAIL_MARGIN
        return near_end or error.msg.startswith("Unterminated string")

    def _resynchronise(self) -> None:
        """Move to the next line that starts a record at the failed record's indentation."""
        line_start = self._buffer.rfind("\n", 0, self._pos) + 1
        indent = self._buffer[line_start : self._pos]
        if indent.strip():
            indent = ""  # the record did not start its line, as in a one-line array
        starts = re.compile(r"\n(?:" + re.escape(indent) + r"\{|Record \d)")

        while True:
            found = starts.search(self._buffer, self._pos + 1)
            if found:
                self._advance(found.start() + 1 - self._pos)
                return
            if not self._fill():
                self._advance(len(self._buffer) - self._pos)
                return

    def _match_separator(self) -> str | None:
        if self._peek() != "R":
            return None
        while len(self._buffer) - self._pos < 64 and self._fill():
            pass
        match = _SEPARATOR.match(self._buffer, self._pos)
        if not match:
            return None
        self._advance(match.end() - self._pos)
        return match.group(1)

    def _skip_space(self) -> None:
        while True:
            match = _SPACE.match(self._buffer, self._pos)
            end = match.end() if match else self._pos
            self._advance(end - self._pos)
            if self._pos < len(self._buffer) or not self._fill():
                return

    def _fill(self) -> bool:
        """Read one more chunk into the buffer; return False at the end of the stream."""
        if self._eof:
            return False
        chunk = next(self._chunks, None)
        if chunk is None:
            self._eof = True
            return False
        if self._pos > len(self._buffer) // 2:
            # Keep the start of the current line, which _resynchronise reads for indentation.
            keep = max(self._buffer.rfind("\n", 0, self._pos) + 1, self._pos - _INDENT_KEPT)
            self._buffer = self._buffer[keep:]
            self._pos -= keep
            self._dropped += keep
        self._buffer += chunk
        return True

    def _grow(self) -> bool:
        """Read until the unread part of the buffer doubles; return False at the end of the stream.

        Doubling keeps the number of decode attempts for a long record logarithmic in its size.
        """
        target = 2 * (len(self._buffer) - self._pos)
        grew = False
        while len(self._buffer) - self._pos < target and self._fill():
            grew = True
        return grew

    def _line_of(self, offset: int) -> int:
        return self._line + self._buffer.count("\n", self._pos, offset)

    def _column_of(self, offset: int) -> int:
        newline = self._buffer.rfind("\n", self._pos, offset)
        line_start = self._dropped + newline + 1 if newline >= 0 else self._line_start
        return self._dropped + offset - line_start + 1

    def _advance(self, count: int) -> None:
        end = self._pos + count
        self._line += self._buffer.count("\n", self._pos, end)
        newline = self._buffer.rfind("\n", self._pos, end)
        if newline >= 0:
            self._line_start = self._dropped + newline + 1
        self._pos = end

    def _peek(self) -> str:
        return self._buffer[self._pos] if self._pos < len(self._buffer) else ""

    def _at_end(self) -> bool:
        return self._pos >= len(self._buffer) and not self._fill()
