"""Neutralise attacker-controlled text before it reaches a terminal or a spreadsheet.

Command lines, paths and user names come from the telemetry, which an intruder can shape. They
may carry terminal escape sequences, bidirectional-text overrides or spreadsheet formulas.
"""

from __future__ import annotations

import re
from typing import Final

# C0 and C1 controls, DEL, the Unicode line and paragraph separators (U+2028, U+2029), and the
# bidirectional and invisible formatting characters that can reorder or hide text on screen
# (U+200B-U+200F, U+202A-U+202E, U+2066-U+2069).
_UNSAFE: Final = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)
_LINE_BREAKS: Final = re.compile("[\t\n\r]")
_FORMULA_START: Final = (
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "\n",
    "\uff1d",
    "\uff0b",
    "\uff0d",
    "\uff20",
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_text(value: str) -> str:
    """Make text safe for a terminal: escape controls, tabs and line breaks visibly."""
    text = _UNSAFE.sub(_escape, value)
    return _LINE_BREAKS.sub(_escape, text)


def unsafe_character(value: str, *, multiline: bool = False) -> str | None:
    """Return the first character that `terminal_text` would escape, written as an escape.

    With `multiline`, tabs and line feeds are allowed, as in free prose. Returns None when
    the text has no such character.
    """
    match = _UNSAFE.search(value) or (None if multiline else _LINE_BREAKS.search(value))
    return _escape(match) if match else None


def json_text(text: str) -> str:
    """Escape controls and bidi characters in rendered JSON as `\\uXXXX`.

    `json.dumps` escapes C0 controls itself but, with `ensure_ascii=False`, keeps C1 controls
    (U+009B acts as CSI on some terminals) and bidirectional overrides raw. Such characters can
    only occur inside JSON strings, where the escape decodes to the same value.
    """
    return _UNSAFE.sub(lambda match: f"\\u{ord(match.group(0)):04x}", text)


def csv_cell(value: str) -> str:
    """Make a cell safe for a spreadsheet and a terminal.

    A cell that a spreadsheet would run as a formula gets an apostrophe in front (OWASP's
    advice), and controls other than line breaks are escaped visibly, as on the terminal. Line
    breaks stay, so the writer must quote every cell: a lone CR would otherwise start a new row.
    """
    text = _UNSAFE.sub(_escape, value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text
