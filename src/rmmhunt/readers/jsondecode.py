"""JSON decoding with a nesting limit, shared by every reader that decodes JSON.

Python's `json` decoder recurses once per nesting level, so a value nested about 1,000 levels
deep raises RecursionError, which is not a ValueError and escaped the readers' error handling.
These helpers turn that into a `json.JSONDecodeError` located at the value's start, and also
reject values that decode but nest deeper than MAX_JSON_DEPTH, because the readers' own
recursive code (flattening nested keys, for example) would overflow on them later. Callers
therefore skip such a record like any other malformed one.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

MAX_JSON_DEPTH: Final = 100
"""Deepest nesting of arrays and objects accepted in one record. Event records nest far less."""

_DECODER: Final = json.JSONDecoder()

# A string literal or a bracket: what matters to find where a value ends without decoding it.
_TOKEN: Final = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_KEY_TOKEN: Final = re.compile(r'(?P<key>"(?:[^"\\]|\\.)*")\s*:|"(?:[^"\\]|\\.)*"|[\[\]{}]')


class JsonDepthError(json.JSONDecodeError):
    """A JSON value nests more than MAX_JSON_DEPTH levels deep.

    Attributes:
        end: the index just after the value, when its brackets balance within the text, so
            that a caller can resume after it; otherwise None.
    """

    def __init__(self, text: str, start: int, end: int | None) -> None:
        super().__init__(f"value nested more than {MAX_JSON_DEPTH} levels deep", text, start)
        self.end = end


def loads(text: str) -> Any:
    """Decode one JSON document, like `json.loads`, with the nesting limit.

    Raises:
        json.JSONDecodeError: the text is invalid JSON or nests too deeply.
    """
    value, end = raw_decode(text, 0)
    tail = text[end:].strip()
    if tail:
        raise json.JSONDecodeError("Extra data", text, end + text[end:].index(tail[0]))
    return value


def raw_decode(text: str, position: int = 0) -> tuple[Any, int]:
    """Decode the JSON value that starts at `position`, like `JSONDecoder.raw_decode`.

    Leading white space is skipped, as `json.loads` does. Returns the value and the index after
    it.

    Raises:
        json.JSONDecodeError: the text is invalid JSON or nests too deeply.
    """
    start = position
    while start < len(text) and text[start] in " \t\r\n":
        start += 1
    try:
        value, end = _DECODER.raw_decode(text, start)
    except RecursionError:
        raise JsonDepthError(text, start, _value_end(text, start)) from None

    # Counting brackets is fast, and a value with few of them cannot nest deeply, so only
    # values with many brackets pay for the walk.
    brackets = text.count("{", start, end) + text.count("[", start, end)
    if brackets > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        raise JsonDepthError(text, start, end)
    return value, end


def _value_end(text: str, start: int) -> int | None:
    """Return the index after the array or object at `start`, or None if it does not close."""
    level = 0
    for token in _TOKEN.finditer(text, start):
        bracket = token.group()
        if bracket in "[{":
            level += 1
        elif bracket in "]}":
            level -= 1
            if level == 0:
                return token.end()
    return None


def _depth(value: object) -> int:
    # Iterative, because a recursive walk would overflow on the values it is meant to find.
    deepest = 0
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        pending.extend((child, level + 1) for child in children)
    return deepest


def top_level_keys(text: str, start: int = 0) -> list[str]:
    """Return the keys of the object at `start` without decoding it, for detection.

    Used when an object nests too deeply to decode: its own keys still show which format the
    file is in. The scan stops at the object's end or at the end of the text.
    """
    keys: list[str] = []
    level = 0
    for token in _KEY_TOKEN.finditer(text, start):
        found = token.group()
        if found in "[{":
            level += 1
        elif found in "]}":
            level -= 1
            if level <= 0:
                break
        elif level == 1 and token.group("key") is not None:
            try:
                key = json.loads(token.group("key"))
            except ValueError:
                continue
            keys.append(key)
    return keys
