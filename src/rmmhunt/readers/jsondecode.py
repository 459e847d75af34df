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


DEPTH_PLACEHOLDER: Final = f"\x00rmmhunt: value nested more than {MAX_JSON_DEPTH} levels deep"
"""The string that `loads_document` puts in place of a value nested too deeply."""


def loads_document(text: str) -> tuple[Any, int]:
    """Decode a whole JSON document in which a record may nest too deeply.

    Each array or object that starts deeper than MAX_JSON_DEPTH is replaced with
    DEPTH_PLACEHOLDER, so that the other records of a wrapper document (an API response with
    its rows in a list) are still read. Returns the value and the number of values replaced;
    callers skip the records for which `contains_placeholder` is true.

    Raises:
        json.JSONDecodeError: the text is invalid JSON, or a deep value does not close.
    """
    try:
        return loads(text), 0
    except JsonDepthError:
        pass

    parts: list[str] = []
    replaced = 0
    level = 0
    copied_to = 0
    position = 0
    placeholder = json.dumps(DEPTH_PLACEHOLDER)
    while (token := _TOKEN.search(text, position)) is not None:
        bracket = token.group()
        position = token.end()
        if bracket in "]}":
            level -= 1
        elif bracket in "[{":
            level += 1
            if level <= MAX_JSON_DEPTH:
                continue
            end = _value_end(text, token.start())
            if end is None:
                raise JsonDepthError(text, token.start(), None)
            parts.append(text[copied_to : token.start()])
            parts.append(placeholder)
            replaced += 1
            level -= 1
            copied_to = position = end
    parts.append(text[copied_to:])
    return loads("".join(parts)), replaced


def contains_placeholder(value: object) -> bool:
    """Tell whether a value decoded by `loads_document` contains DEPTH_PLACEHOLDER."""
    pending = [value]
    while pending:
        item = pending.pop()
        if item == DEPTH_PLACEHOLDER:
            return True
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False
