"""Find the XQL query in a Markdown hunt document."""

from __future__ import annotations

import re

from rmmhunt.errors import QueryError

# A fenced block whose info string is `xql`, with ``` or ~~~ fences of three or more.
FENCE = re.compile(
    r"^ {0,3}(?P<fence>`{3,}|~{3,})[ \t]*xql[ \t]*\n"
    r"(?P<body>.*?)"
    r"^ {0,3}(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL | re.IGNORECASE,
)


def extract_xql_block(markdown: str) -> str:
    """Return the body of the one ```xql fenced code block in a Markdown document.

    Raises:
        QueryError: the document has no xql block, or more than one.
    """
    blocks = [match["body"] for match in FENCE.finditer(markdown)]
    if not blocks:
        raise QueryError(
            "no ```xql code block found in the hunt document",
            hint="put the query in a fenced block that starts with ```xql",
        )
    if len(blocks) > 1:
        raise QueryError(
            f"the hunt document has {len(blocks)} ```xql code blocks; expected one",
            hint="keep one query per hunt document",
        )
    return blocks[0]
