"""The run summary: what was read, skipped, failed and found, as one document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class FailedFile(BaseModel):
    """A file that could not be read, and why."""

    model_config = ConfigDict(extra="forbid")

    path: str
    reason: str


class SkippedFile(BaseModel):
    """A directory entry that was not read, such as a FIFO or a second link to one directory."""

    model_config = ConfigDict(extra="forbid")

    path: str
    reason: str


class InputEntry(BaseModel):
    """An input file on disk (or standard input) with its SHA-256."""

    model_config = ConfigDict(extra="forbid")

    path: str
    sha256: str | None
    size: int | None
    format: str | None = None
    """The reader's format name, or several joined by ", " for an archive of mixed members."""

    members: int = 0


class RunSummary(BaseModel):
    """Counts for one run. `records_read` equals `records_normalised` plus every skipped count."""

    model_config = ConfigDict(extra="forbid")

    rmmhunt_version: str
    catalog_version: str
    profile: str
    categories: list[str]
    files_read: int = 0
    files_failed: int = 0
    failed_files: list[FailedFile] = Field(default_factory=list)
    skipped_files: list[SkippedFile] = Field(default_factory=list)
    records_read: int = 0
    records_normalised: int = 0
    records_skipped: dict[str, int] = Field(default_factory=dict)
    duplicates_merged: int = 0
    duplicates_conflicting: int = 0
    """Events whose copies share an `event_id` and time but differ in content; not merged."""
    events_without_time: int = 0
    events_by_kind: dict[str, int] = Field(default_factory=dict)
    formats: dict[str, int] = Field(default_factory=dict)
    alerts: int = 0
    alerts_by_kind: dict[str, int] = Field(default_factory=dict)
    alerts_by_severity: dict[str, int] = Field(default_factory=dict)
    inventory: str | None = None
    alerts_suppressed: int = 0
    suppressed_by_approval: dict[str, int] = Field(default_factory=dict)
    alerts_below_min_severity: int = 0
    suppressed_listed: int | None = None
    approval_scopes: dict[str, str] = Field(default_factory=dict)
    inputs: list[InputEntry] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    warning_count: int = 0
    limitations: list[str] = Field(default_factory=list)

    @property
    def accounting_closes(self) -> bool:
        """Whether every record read was either normalised or counted as skipped."""
        return self.records_read == self.records_normalised + sum(self.records_skipped.values())

    def to_json_dict(self) -> dict[str, Any]:
        """Return the summary as a JSON-ready dictionary, with `accounting_closes` added."""
        data = self.model_dump()
        data["accounting_closes"] = self.accounting_closes
        return data
