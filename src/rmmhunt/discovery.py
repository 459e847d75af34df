"""Input discovery results: the files read, the files that failed, and the entries skipped."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class InputRecord:
    """An input file as the summary lists it."""

    path: str
    sha256: str | None
    size: int | None
    format: str | None = None
    members: int = 0


@dataclass
class InputFailure:
    """A file that could not be read at all."""

    path: str
    reason: str


@dataclass
class SkippedPath:
    """A directory entry that was not read, and why; the summary lists it."""

    path: str
    reason: str


@dataclass
class Discovery:
    """The results of input discovery: files to read, their hashes, failed files and skips."""

    inputs: list[InputRecord] = field(default_factory=list)
    failures: list[InputFailure] = field(default_factory=list)
    skipped: list[SkippedPath] = field(default_factory=list)
