"""Text decoding shared by the event-log text readers (XML, JSON, Splunk exports).

Windows tools write these exports in UTF-8 (with or without a byte order mark) or in UTF-16:
Event Viewer's "Save as XML" and Windows PowerShell 5.1's `Out-File` write UTF-16 LE with a BOM.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import BinaryIO

CHUNK_BYTES = 1024 * 1024
"""Bytes read from an input at a time."""

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def detect_encoding(head: bytes) -> str:
    """Return the codec name for a text input from its first bytes.

    A byte order mark decides. Without one, a NUL in the second or first byte means UTF-16 LE or
    BE text that starts with an ASCII character; anything else is read as UTF-8.
    """
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    if len(head) >= 2 and head[0] != 0 and head[1] == 0:
        return "utf-16-le"
    if len(head) >= 2 and head[0] == 0 and head[1] != 0:
        return "utf-16-be"
    return "utf-8"


def wrapper_encoding(head: bytes) -> str:
    """Return the codec for `io.TextIOWrapper` over an input whose first bytes are `head`.

    UTF-8 becomes `utf-8-sig`, so that a byte order mark is dropped rather than read as text.
    """
    encoding = detect_encoding(head)
    return "utf-8-sig" if encoding == "utf-8" else encoding


def is_utf16(head: bytes) -> bool:
    """Tell whether the input is UTF-16 text, with or without a byte order mark."""
    return detect_encoding(head).startswith("utf-16")


def head_text(head: bytes) -> str:
    """Decode the detection head, dropping a character cut at its end and leading white space."""
    encoding = detect_encoding(head)
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    return decoder.decode(head, final=False).lstrip()


def iter_text_chunks(stream: BinaryIO, head: bytes, size: int = CHUNK_BYTES) -> Iterator[str]:
    """Yield the input's text from its start in chunks of about `size` bytes.

    Undecodable bytes become U+FFFD so that one bad byte never stops a file. Line endings are
    kept as written, so callers count lines by `\\n` (CRLF and LF files alike).
    """
    stream.seek(0)
    decoder = codecs.getincrementaldecoder(detect_encoding(head))(errors="replace")
    while True:
        data = stream.read(size)
        text = decoder.decode(data, final=not data)
        if text:
            yield text
        if not data:
            return
