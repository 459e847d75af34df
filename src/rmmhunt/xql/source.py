"""Read an XQL query from a `.xql` file or from the ```xql block of a Markdown document."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rmmhunt.errors import QueryError
from rmmhunt.xql.errors import XqlError
from rmmhunt.xql.markdown import FENCE, find_xql_block
from rmmhunt.xql.nodes import Query
from rmmhunt.xql.parser import parse

MARKDOWN_SUFFIXES = (".md", ".markdown")


@dataclass(frozen=True)
class QuerySource:
    """An XQL query and where it came from, so that errors name the file and its line.

    Attributes:
        text: the query text.
        path: the file's display path, or `<query>` for a query given on the command line.
        first_line: the 1-based line of the file on which the query starts.
    """

    text: str
    path: str = "<query>"
    first_line: int = 1

    def locate(self, error: XqlError) -> XqlError:
        """Return `error` with this source's path, and its line counted in the file."""
        return error.in_file(self.path, self.first_line)

    def parse(self) -> Query:
        """Parse the query.

        Raises:
            XqlError: the query is malformed or outside the subset, located in the file.
        """
        try:
            return parse(self.text)
        except XqlError as error:
            raise self.locate(error) from None


def read_query_file(path: Path) -> QuerySource:
    """Read a query from an XQL file, or from the one ```xql block of a Markdown document.

    A file whose name ends in `.md` or `.markdown` is read as Markdown, and so is a file with
    another suffix than `.xql` that contains an ```xql fenced block. Any other file is XQL.

    Raises:
        QueryError: the file cannot be read, is not UTF-8, or is Markdown without exactly one
            ```xql block.
    """
    display = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise QueryError(
            f"the query file is not UTF-8 text: {error.reason} at byte {error.start}",
            path=display,
            offset=error.start,
            hint="save the file as UTF-8",
        ) from None
    except OSError as error:
        raise QueryError(
            f"failed to read the query file: {error.strerror or error}",
            path=display,
            hint="check the path and its permissions",
        ) from None

    suffix = path.suffix.lower()
    is_markdown = suffix in MARKDOWN_SUFFIXES or (suffix != ".xql" and FENCE.search(text))
    if not is_markdown:
        return QuerySource(text, display)
    try:
        body, first_line = find_xql_block(text)
    except QueryError as error:
        error.path = display
        raise
    return QuerySource(body, display, first_line)
