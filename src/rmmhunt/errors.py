"""The one error base class, and the few subclasses that callers handle differently.

RmmhuntError
 ├── InputError       an input file or record could not be read (the run goes on)
 ├── CatalogError     a catalog file is invalid (the run stops)
 ├── InventoryError   an approved-software inventory is invalid (the run stops)
 └── QueryError       an XQL query or hunt file is invalid (the run stops)
"""

from __future__ import annotations


class RmmhuntError(Exception):
    """An error that names where the problem is and what to do next.

    Attributes:
        path: the file the problem is in, when there is one.
        line: the 1-based line number, for text inputs.
        column: the 1-based column, for queries.
        offset: the byte offset, for binary inputs.
        hint: what the user can do next.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        offset: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.column = column
        self.offset = offset
        self.hint = hint

    def location(self) -> str:
        """Format the location as `path:line:column` or `path@offset`."""
        parts = [self.path or "<input>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        text = ":".join(parts)
        if self.offset is not None:
            text += f" (byte offset {self.offset})"
        return text

    def __str__(self) -> str:
        # An error with no location at all, such as an unknown tool name, has no prefix.
        located = (self.path, self.line, self.offset) != (None, None, None)
        text = f"{self.location()}: {self.message}" if located else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class InputError(RmmhuntError):
    """An input file or one of its records could not be read."""


class CatalogError(RmmhuntError):
    """A catalog file is invalid."""


class InventoryError(RmmhuntError):
    """An approved-software inventory file is invalid."""


class QueryError(RmmhuntError):
    """An XQL query or hunt file is invalid or uses a construct outside the supported subset."""
