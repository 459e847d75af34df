"""The XQL error: a QueryError that also names the construct it is about."""

from __future__ import annotations

from rmmhunt.errors import QueryError


class XqlError(QueryError):
    """An XQL query that is malformed or outside the supported subset.

    Attributes:
        construct: the name of the offending construct, such as `stage 'bin'`,
            `function 'arraymap'` or `column 'agent_hostnam'`.
    """

    def __init__(
        self,
        message: str,
        *,
        line: int,
        column: int,
        construct: str,
        hint: str | None = None,
    ) -> None:
        super().__init__(
            f"{message} at line {line}, column {column}", line=line, column=column, hint=hint
        )
        self.detail = message
        self.construct = construct

    def in_file(self, path: str, first_line: int = 1) -> XqlError:
        """Return this error located in a file whose query starts at line `first_line`.

        A query from a Markdown document starts below the fence line, so its lines are shifted.
        """
        line = self.line + first_line - 1 if self.line else 0
        located = XqlError(
            self.detail,
            line=line,
            column=self.column or 0,
            construct=self.construct,
            hint=self.hint,
        )
        located.path = path
        return located
