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
    return find_xql_block(markdown)[0]


def find_xql_block(markdown: str) -> tuple[str, int]:
    """Return the body of the one ```xql block and the 1-based line where the body starts.

    Raises:
        QueryError: the document has no xql block, or more than one.
    """
    blocks = list(FENCE.finditer(markdown))
    if not blocks:
        raise QueryError(
            "no ```xql code block found in the hunt document",
            hint="put the query in a fenced block that starts with ```xql",
        )
    if len(blocks) > 1:
        raise QueryError(
            f"the hunt document has {len(blocks)} ```xql code blocks; expected one",
            line=markdown.count("\n", 0, blocks[1].start()) + 1,
            hint="keep one query per hunt document",
        )
    first_line = markdown.count("\n", 0, blocks[0].start("body")) + 1
    return blocks[0]["body"], first_line
