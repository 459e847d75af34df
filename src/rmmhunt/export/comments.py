"""Make catalog text safe to put into the comments and string literals of an export.

Catalog files can come from elsewhere (`catalog import lolrmm`), so a tool name or a file name is
untrusted text. In a comment it must not end the comment, and in a query string it must not
break the line, or the rest of the value becomes live query text in the SIEM.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any, Final

from rmmhunt.export.result import ExportError

__all__ = ["check_query_values", "comment_text"]

# Every character that Python's str.splitlines() treats as a line break. Query languages differ
# in which of them end a line, so a value may contain none of them.
_LINE_BREAK: Final = re.compile("[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


def comment_text(text: str) -> str:
    """Render text as one line that no comment syntax of the export targets can end.

    Control, format and separator characters (line breaks included) become spaces, backticks
    become apostrophes (three backticks end an SPL comment), and `*/` (the end of a block
    comment) becomes `* /`.
    """
    characters: list[str] = []
    for character in text:
        if character == "`":
            characters.append("'")
        elif character == " " or unicodedata.category(character)[0] not in "CZ":
            characters.append(character)
        else:
            characters.append(" ")
    line = " ".join("".join(characters).split())
    return line.replace("*/", "* /")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def check_query_values(target: str, documents: list[dict[str, Any]], *, backticks: bool) -> None:
    """Reject Sigma detection values that a backend would write into a query unsafely.

    pySigma writes each value into a quoted string. A raw line break there is invalid in Kusto
    and would split the queries of the other targets. The catalog model already rejects
    line breaks, so this guards tools built in code.

    Args:
        target: the export target, for the message.
        documents: the Sigma rules as mappings.
        backticks: also reject backticks. SPL writes macros and comments with them, and
            rejecting them avoids relying on how Splunk treats one inside a quoted string.

    Raises:
        ExportError: a value contains a line break, or a backtick when `backticks` is set.
    """
    for document in documents:
        for value in _strings(document.get("detection", {})):
            if _LINE_BREAK.search(value) or (backticks and "`" in value):
                kind = "a line break or a backtick" if backticks else "a line break"
                raise ExportError(
                    f'catalog value {value!r} in the rule "{comment_text(document["title"])}" '
                    f"contains {kind}, which the {target} query cannot contain safely",
                    hint="remove the character from the catalog file",
                )
