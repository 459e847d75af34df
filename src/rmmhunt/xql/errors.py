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
        self.construct = construct
