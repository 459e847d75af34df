"""The approved-software inventory's data model: file entries, resolved approvals, the inventory.

`ApprovalEntry` validates one approval as written in YAML or in a CSV row (pydantic,
`extra="forbid"`, so a misspelt field fails instead of silently widening the approval).
`Approval` is the same approval after its tool name has been resolved to a catalog tool id and
its validity window turned into aware UTC datetimes. `docs/inventory.md` describes the format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator, model_validator

from rmmhunt import winpath
from rmmhunt.normalise import parse_time

__all__ = [
    "LIST_FIELDS",
    "Approval",
    "ApprovalEntry",
    "Inventory",
    "InventoryDocument",
]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

# Fields that hold several values. In CSV cells the values are separated by `;` or line breaks.
LIST_FIELDS = ("hosts", "users", "paths", "signers", "parents")


# An epoch number, which `parse_time` accepts in telemetry but a validity bound does not.
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _parse_bound(value: object, *, end_of_day: bool) -> datetime | None:
    """Parse a validity bound into an aware UTC datetime.

    A date without a time covers the whole day in UTC, so `valid_until: 2025-06-30` still
    approves events at 23:59 UTC that day. Text without a zone is UTC, as elsewhere in rmmhunt.
    A number is rejected: `20250312` reads as a compact date to a person but as epoch seconds
    (1970-08-23) to `parse_time`.

    Raises:
        ValueError: the value is a number, or text that is not an ISO 8601 date or time.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool | int | float) or (
        isinstance(value, str) and _NUMBER.fullmatch(value.strip())
    ):
        raise ValueError(
            f"{value!r} is a number, not a date; write YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ"
        )
    try:
        if isinstance(value, date) and not isinstance(value, datetime):
            day = value
        elif isinstance(value, str) and len(value.strip()) == 10:
            day = date.fromisoformat(value.strip())
        else:
            return parse_time(value)
    except ValueError as error:
        raise ValueError(f"invalid date or time {value!r}: {error}") from None

    if end_of_day:
        return datetime.combine(day, time.max, tzinfo=UTC)
    return datetime.combine(day, time.min, tzinfo=UTC)


class ApprovalEntry(BaseModel):
    """One approval as written in an inventory file, before its tool name is resolved."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    id: Text | None = None
    """Name that reports use for the approval; defaults to `<tool id>-<position in the file>`."""

    tool: Text
    """Catalog tool id, name or alias, for example `teamviewer` or `TeamViewer Host`."""

    hosts: tuple[Text, ...] = ()
    """Host name globs (`*`, `?`): full names compare when both sides have a domain, else short."""

    users: tuple[Text, ...] = ()
    """User name globs; a glob without `\\` or `@` compares with the account name only."""

    paths: tuple[Text, ...] = ()
    """Image path patterns with the catalog's rules: `*` stays in one folder, `**` crosses.

    A path whose last component has no wildcard and no `.` names a folder and gets `\\**`.
    """

    signers: tuple[Text, ...] = ()
    """Authenticode signer name globs."""

    parents: tuple[Text, ...] = ()
    """Parent image name globs (`services.exe`) or, with a `\\`, image path patterns."""

    valid_from: datetime | None = None
    valid_until: datetime | None = None
    reason: Text | None = None
    ticket: Text | None = None

    @field_validator(*LIST_FIELDS, mode="before")
    @classmethod
    def _wrap_scalar(cls, value: object) -> object:
        # `hosts: WS-01` is a common shorthand for a one-item list.
        if isinstance(value, str):
            return (value,)
        return value

    @field_validator(*LIST_FIELDS, mode="after")
    @classmethod
    def _reject_empty(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # An omitted field means "no restriction", so `hosts: []` would read as "every host".
        if not value:
            raise ValueError(
                "an empty list is not allowed; omit the field to leave it unrestricted, "
                "or list at least one value"
            )
        return value

    @field_validator("paths", mode="after")
    @classmethod
    def _check_paths(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Expand folder paths to `<folder>\\**` and reject patterns that match any folder."""
        patterns = tuple(winpath.with_folder_wildcard(pattern) for pattern in value)
        for written, pattern in zip(value, patterns, strict=True):
            if not winpath.has_literal_folder(pattern):
                raise ValueError(
                    f"{written!r} can match a file in any folder once `.` and `..` are "
                    "resolved, so it would approve the tool anywhere; name a folder below the "
                    "volume root, as in C:\\Program Files\\TeamViewer\\**"
                )
        return patterns

    @field_validator("valid_from", mode="before")
    @classmethod
    def _parse_valid_from(cls, value: object) -> datetime | None:
        return _parse_bound(value, end_of_day=False)

    @field_validator("valid_until", mode="before")
    @classmethod
    def _parse_valid_until(cls, value: object) -> datetime | None:
        return _parse_bound(value, end_of_day=True)

    @model_validator(mode="after")
    def _check_window(self) -> ApprovalEntry:
        # A window that ends before it starts never covers an alert, so it can only be a mistake.
        if self.valid_from and self.valid_until and self.valid_from > self.valid_until:
            raise ValueError(
                f"valid_from ({self.valid_from.isoformat()}) is later than valid_until "
                f"({self.valid_until.isoformat()}); swap or correct the dates"
            )
        return self


class InventoryDocument(BaseModel):
    """The top level of a YAML inventory file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    approvals: tuple[ApprovalEntry, ...] = ()


# Each list field of an approval, with the words for the scope when the approval omits it.
_SCOPE_FIELDS = (
    ("hosts", "any host"),
    ("users", "any user"),
    ("paths", "any path"),
    ("signers", "any signer"),
    ("parents", "any parent"),
)


@dataclass(frozen=True)
class Approval:
    """An approval whose tool is a catalog tool id; every field it gives must match an alert.

    An empty tuple or a None bound means the approval does not restrict that field.

    Attributes:
        source: the inventory file's display path.
        line: the 1-based line of the approval in that file (the CSV row's first line).
    """

    id: str
    tool_id: str
    hosts: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    signers: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    reason: str | None = None
    ticket: str | None = None
    source: str = "<inventory>"
    line: int | None = None

    def scope(self) -> str:
        """Describe what the approval covers, naming each field that it leaves unrestricted.

        For example `teamviewer; any host; any user; paths C:\\Program Files\\TeamViewer\\**;
        any signer; any parent; until 2025-12-31T23:59:59.999999+00:00`.
        """
        parts = [self.tool_id]
        for name, unrestricted in _SCOPE_FIELDS:
            values: tuple[str, ...] = getattr(self, name)
            parts.append(f"{name} {', '.join(values)}" if values else unrestricted)

        window = []
        if self.valid_from is not None:
            window.append(f"from {self.valid_from.isoformat()}")
        if self.valid_until is not None:
            window.append(f"until {self.valid_until.isoformat()}")
        parts.append(" ".join(window) or "any time")
        return "; ".join(parts)

    def describe(self) -> str:
        """Format the approval's id with its reason and ticket, for alert text."""
        extras = [text for text in (self.reason, self.ticket and f"ticket {self.ticket}") if text]
        if not extras:
            return self.id
        return f"{self.id} ({', '.join(extras)})"


@dataclass(frozen=True)
class Inventory:
    """The approvals loaded from one inventory file, in file order."""

    approvals: tuple[Approval, ...]
    source: str = "<inventory>"

    def for_tool(self, tool_id: str | None) -> list[Approval]:
        """Return the approvals of one catalog tool, in file order."""
        if tool_id is None:
            return []
        return [approval for approval in self.approvals if approval.tool_id == tool_id]
