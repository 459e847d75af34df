"""CSV reading rules shared by the CSV readers: the field size limit and unclosed quotes."""

from __future__ import annotations

import csv
from typing import Final

MAX_CSV_FIELD_CHARS: Final = 64 * 1024 * 1024
"""Largest CSV field read, the same as the largest JSON record. Python's csv module rejects
fields over 128 KiB by default, and a long PowerShell command line can exceed that."""


def allow_large_fields() -> None:
    """Raise the csv module's field size limit to MAX_CSV_FIELD_CHARS.

    The limit is process-wide state of the csv module, so it is raised, never lowered.
    """
    if csv.field_size_limit() < MAX_CSV_FIELD_CHARS:
        csv.field_size_limit(MAX_CSV_FIELD_CHARS)


def unclosed_quote_lines(fields: list[str], expected: int, start_line: int, end_line: int) -> int:
    """Return how many lines a row with an unclosed quote swallowed, or 0 if it does not look so.

    A quote that is never closed makes the csv module read the following lines into one field,
    so the row has the wrong number of fields, spans several lines, and its last field contains
    the line breaks. Each swallowed line was probably a row of its own.
    """
    spanned = end_line - start_line + 1
    if len(fields) == expected or spanned < 2 or not fields or "\n" not in fields[-1]:
        return 0
    return spanned
