"""The text of an export and what its target could not express."""

from __future__ import annotations

from dataclasses import dataclass, field

from rmmhunt.errors import RmmhuntError

__all__ = ["ExportError", "ExportResult"]


class ExportError(RmmhuntError):
    """An export failed: an unknown target or dialect, or a missing optional package."""

    def __str__(self) -> str:
        # An export reads no input file, so there is no location to show.
        if self.path is not None:
            return super().__str__()
        return f"{self.message} ({self.hint})" if self.hint else self.message


@dataclass
class ExportResult:
    """An exported hunt.

    Attributes:
        text: the exported rules or query, ending with a newline. It already carries the dropped
            constructs as comments where the target's format has comments.
        dropped: one sentence for each construct of the hunt that the target cannot express, or
            expresses only approximately.
    """

    text: str
    dropped: list[str] = field(default_factory=list)
