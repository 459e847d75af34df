"""JSON helpers for the Cortex XDR readers: an incremental array parser and head inspection.

A JSON array is parsed element by element with `json.JSONDecoder.raw_decode` over a sliding text
buffer, so memory stays near the size of one element whatever the size of the file.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final

from rmmhunt.readers.jsondecode import JsonDepthError, raw_decode, top_level_keys

CHUNK_CHARS: Final = 1024 * 1024
"""Characters read from the stream each time the buffer runs short."""

MAX_ELEMENT_CHARS: Final = 64 * 1024 * 1024
"""Maximum size of one array element; a larger one is reported as malformed."""

UTF8_BOM: Final = b"\xef\xbb\xbf"

_WHITESPACE: Final = re.compile(r"[ \t\r\n]*")
_REPLY_START: Final = re.compile(r'^\s*\{\s*"reply"\s*:\s*\{')
_DATA_ARRAY: Final = re.compile(r'"data"\s*:\s*\[')
_XQL_REPLY_KEYS: Final = ('"number_of_results"', '"query_cost"', '"stream_id"')


class ArraySyntaxError(Exception):
    """The array is not valid JSON from `line` on, so no later element can be found."""

    def __init__(self, message: str, line: int, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass
class ArrayElement:
    """One decoded element with its 1-based index in the array and the line it starts on."""

    index: int
    line: int
    value: object
    error: str | None = None
    """The reason the element was not decoded, when reading could resume after it."""


class _Buffer:
    """A text buffer over a stream that drops consumed text and counts the lines it dropped."""

    def __init__(self, text: io.TextIOBase, chunk_chars: int) -> None:
        self.text_stream = text
        self.chunk_chars = chunk_chars
        self.text = ""
        self.pos = 0
        self.eof = False
        # Lines are counted incrementally, from `counted_to` on, so each character is counted once.
        self.counted_to = 0
        self.line_number = 1
        # Characters dropped from the front, and where the current line starts, both counted
        # from the start of the stream, so that columns stay right in one-line arrays.
        self.dropped = 0
        self.line_start = 0

    def fill(self, size: int | None = None) -> bool:
        """Append up to `size` characters (one chunk by default); return False at the end."""
        if self.eof:
            return False
        chunk = self.text_stream.read(size or self.chunk_chars)
        if not chunk:
            self.eof = True
            return False
        self.line()  # count the lines of the text about to be dropped
        self.dropped += self.pos
        self.text = self.text[self.pos :] + chunk
        self.pos = 0
        self.counted_to = 0
        return True

    def skip_whitespace(self) -> str:
        """Move past white space and return the next character, or "" at the end."""
        while True:
            match = _WHITESPACE.match(self.text, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.fill():
                return ""

    def line(self) -> int:
        """Return the 1-based line number at the current position."""
        self.line_number += self.text.count("\n", self.counted_to, self.pos)
        newline = self.text.rfind("\n", self.counted_to, self.pos)
        if newline >= 0:
            self.line_start = self.dropped + newline + 1
        self.counted_to = self.pos
        return self.line_number

    def column(self, position: int) -> int:
        """Return the 1-based column of `position`, which must not be before the current one."""
        self.line()
        newline = self.text.rfind("\n", self.pos, position)
        line_start = self.dropped + newline + 1 if newline >= 0 else self.line_start
        return self.dropped + position - line_start + 1


def iter_array(
    stream: BinaryIO,
    *,
    chunk_chars: int = CHUNK_CHARS,
    max_element_chars: int = MAX_ELEMENT_CHARS,
    encoding: str = "utf-8-sig",
) -> Iterator[ArrayElement]:
    """Yield the elements of the top-level JSON array in a text stream, one at a time.

    Bytes that are not valid UTF-8 reach the caller as lone surrogates (`surrogateescape`), so
    the caller can reject that one element. In UTF-16, which has no such escape, they become
    U+FFFD.

    Raises:
        ArraySyntaxError: the text is not a JSON array from some point on. Elements before that
            point have been yielded.
    """
    errors = "replace" if encoding.startswith("utf-16") else "surrogateescape"
    text = io.TextIOWrapper(stream, encoding=encoding, errors=errors, newline="")
    try:
        yield from _iter_elements(_Buffer(text, chunk_chars), max_element_chars)
    finally:
        text.detach()  # the caller owns the binary stream and closes it


def _iter_elements(buffer: _Buffer, max_element_chars: int) -> Iterator[ArrayElement]:
    if buffer.skip_whitespace() != "[":
        raise ArraySyntaxError("expected '[' at the start of a JSON array", buffer.line())
    buffer.pos += 1

    index = 0
    if buffer.skip_whitespace() == "]":
        return
    while True:
        index += 1
        line = buffer.line()
        try:
            value = _decode_element(buffer, max_element_chars, line)
        except JsonDepthError as error:
            # The element's brackets balance, so reading resumes after it.
            message = f"invalid JSON: {error.msg}"
            yield ArrayElement(index=index, line=line, value=None, error=message)
        else:
            yield ArrayElement(index=index, line=line, value=value)

        separator = buffer.skip_whitespace()
        buffer.pos += 1
        if separator == "]":
            return
        if separator != ",":
            found = repr(separator) if separator else "the end of the file"
            column = buffer.column(buffer.pos - 1)
            raise ArraySyntaxError(
                f"expected ',' or ']' after element {index}, found {found}", buffer.line(), column
            )
        buffer.skip_whitespace()


def _decode_element(buffer: _Buffer, max_element_chars: int, line: int) -> object:
    while True:
        try:
            value, end = raw_decode(buffer.text, buffer.pos)
        except JsonDepthError as error:
            if error.end is None and _can_grow(buffer, max_element_chars):
                continue
            if error.end is None:
                raise ArraySyntaxError(f"invalid JSON: {error.msg}", line) from error
            buffer.pos = error.end
            raise
        except json.JSONDecodeError as error:
            # The element may only be cut off by the end of the buffer, so read on and retry.
            if _can_grow(buffer, max_element_chars):
                continue
            line_of_error = line + buffer.text.count("\n", buffer.pos, error.pos)
            column = buffer.column(error.pos)
            raise ArraySyntaxError(f"invalid JSON: {error.msg}", line_of_error, column) from error

        # A number that ends exactly at the buffer's end may continue in the next chunk.
        if end == len(buffer.text) and _can_grow(buffer, max_element_chars):
            continue
        buffer.pos = end
        return value


def _can_grow(buffer: _Buffer, max_element_chars: int) -> bool:
    pending = len(buffer.text) - buffer.pos
    if pending > max_element_chars:
        return False
    # Doubling the unparsed text on each retry keeps a large element's cost linear in its size.
    return buffer.fill(max(buffer.chunk_chars, pending))


def first_object(head_text: str) -> dict[str, object] | None:
    """Decode the first JSON object of an array or of NDJSON from the start of a file.

    Returns None when the head contains no complete object at that place.
    """
    text = head_text.lstrip()
    if text.startswith("["):
        text = text[1:].lstrip()
    elif text.startswith("{"):
        text = text.split("\n", 1)[0]
    if not text.startswith("{"):
        return None

    try:
        value, _ = raw_decode(text)
    except JsonDepthError:
        # The reader skips this one record, but its keys still show the file's format.
        return dict.fromkeys(top_level_keys(text))
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


@dataclass
class ReplyHead:
    """The facts about a `{"reply": ...}` document that its head shows to detection."""

    has_xql_keys: bool
    """Whether the head contains a key that only XQL replies have: `number_of_results`, `query_cost`
    or `stream_id`."""

    first_row: dict[str, object] | None
    """The first row of `results.data`, when the head contains it complete."""


def inspect_reply_head(head_text: str) -> ReplyHead | None:
    """Inspect the head of a file that may be a reply of the XQL API.

    Returns None unless the text starts with a `reply` object.
    """
    start = _REPLY_START.match(head_text)
    if not start:
        return None
    has_xql_keys = any(key in head_text for key in _XQL_REPLY_KEYS)

    results_at = head_text.find('"results"', start.end())
    data = _DATA_ARRAY.search(head_text, results_at) if results_at >= 0 else None
    if data is None:
        return ReplyHead(has_xql_keys=has_xql_keys, first_row=None)
    return ReplyHead(has_xql_keys=has_xql_keys, first_row=first_object(head_text[data.end() - 1 :]))
