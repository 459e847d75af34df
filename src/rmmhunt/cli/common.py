"""Exit codes, errors and option parsers that every subcommand shares."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from enum import IntEnum
from pathlib import Path

from rmmhunt.catalog import Category
from rmmhunt.catalog.loader import CatalogValidationError
from rmmhunt.hunt import DEFAULT_CATEGORIES
from rmmhunt.normalise import check_time_format, parse_time
from rmmhunt.readers.base import ReadOptions
from rmmhunt.report.model import RunSummary
from rmmhunt.report.safety import terminal_text
from rmmhunt.report.table import render_summary_text

_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0
    USAGE = 2
    PARTIAL = 3
    NO_INPUT = 4
    CONFIG = 5
    INTERNAL = 70
    PIPE_CLOSED = 141


class UsageError(Exception):
    """An option value that is invalid."""


def print_error(message: str) -> None:
    """Write an error line to stderr, with control characters made visible."""
    sys.stderr.write(f"rmmhunt: error: {terminal_text(message)}\n")


def print_problems(error: CatalogValidationError) -> None:
    """Write a catalog error with one line per problem, each line escaped on its own."""
    sys.stderr.write(
        f"rmmhunt: error: {len(error.problems)} problem(s) in the catalog; "
        f"{terminal_text(error.hint or '')}:\n"
    )
    for problem in error.problems:
        sys.stderr.write(f"  {terminal_text(str(problem))}\n")


def print_warning(message: str) -> None:
    """Write a warning line to stderr, with control characters made visible."""
    sys.stderr.write(f"rmmhunt: warning: {terminal_text(message)}\n")


def write_output(text: str, output: Path | None, option: str = "--output") -> None:
    """Write a rendered result to FILE, or to stdout without one.

    Raises:
        UsageError: FILE cannot be written; `option` names the option that gave it.
    """
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_file(text, output, option)


def write_file(text: str, path: Path, option: str = "--output") -> None:
    """Write text to a file as UTF-8, raising UsageError when the file cannot be written."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        reason = error.strerror or str(error)
        raise UsageError(
            f"{option}: cannot write {path}: {reason}; choose a writable file path"
        ) from None


def check_output_paths(outputs: Sequence[tuple[str, Path | None]], inputs: Sequence[str]) -> None:
    """Raise UsageError for an output file that cannot be written or that is one of the inputs.

    The CLI calls this before it reads any input, so that a long hunt does not lose its results
    to a missing folder at the end, and an output never overwrites an input.

    Args:
        outputs: (option name, path or None) for each output option.
        inputs: the input paths as given, where `-` is standard input.
    """
    given = [(option, path) for option, path in outputs if path is not None]
    for option, path in given:
        _check_writable(option, path)
        _check_hard_links(option, path)
        source = _input_holding(path, inputs)
        if source is not None:
            raise UsageError(
                f"{option}: {path} is an input (given as {source}), and inputs are never "
                "modified; write the output to another file"
            )

    resolved = [path.resolve() for _, path in given]
    if len(set(resolved)) < len(resolved):
        options = " and ".join(option for option, _ in given)
        raise UsageError(f"{options} name the same file; give each its own file")


def _check_writable(option: str, path: Path) -> None:
    folder = path.parent
    if path.is_dir():
        raise UsageError(f"{option}: {path} is a folder; give a file name")
    if not folder.is_dir():
        raise UsageError(
            f"{option}: cannot write {path}: folder {folder} not found; "
            "create it or choose another path"
        )
    # A new file needs write and search permission on its folder.
    # NOTE: os.access grants root almost every write. A run as root can still fail to write at
    # the end, on a read-only mount for example, and write_file reports that.
    target, mode = (path, os.W_OK) if path.exists() else (folder, os.W_OK | os.X_OK)
    if not os.access(target, mode):
        raise UsageError(f"{option}: permission denied to write {path}; choose another path")


def _input_holding(path: Path, inputs: Sequence[str]) -> str | None:
    """Return the given input that is `path` or a folder that contains it, or None.

    A file that does not exist yet counts too when it is inside an input folder, because the
    next run over that folder would read the alerts back as events.
    """
    resolved = path.resolve()
    for given in inputs:
        source = Path(given)
        if given == "-" or not source.exists():
            continue
        if source.is_dir():
            if resolved.is_relative_to(source.resolve()):
                return given
        elif path.exists() and os.path.samefile(source, path):
            return given
    return None


def _check_hard_links(option: str, path: Path) -> None:
    """Reject an existing output file with other hard links, which may be one of the inputs.

    A hard link inside an input folder resolves to its own name, so only the link count shows
    that writing the output would change another file as well.
    """
    if path.exists() and path.is_file() and path.stat().st_nlink > 1:
        raise UsageError(
            f"{option}: {path} has other hard links, so writing it could modify an input; "
            "write the output to a new file"
        )


def add_catalog_option(parser: argparse.ArgumentParser) -> None:
    """Add the repeatable `--catalog PATH` option."""
    parser.add_argument(
        "--catalog",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="a folder of catalog YAML files that adds or overrides tools (repeatable)",
    )


def parse_categories(values: list[str] | None) -> frozenset[str]:
    """Split repeatable, comma-separated `--category` values; the default set without any."""
    if not values:
        return DEFAULT_CATEGORIES
    categories = {part.strip().lower() for value in values for part in value.split(",")}
    categories.discard("")
    return frozenset(categories) or DEFAULT_CATEGORIES


def check_categories(categories: frozenset[str]) -> None:
    """Raise UsageError for a category the catalog does not define."""
    known = {category.value for category in Category} | {"all"}
    unknown = sorted(categories - known)
    if unknown:
        raise UsageError(f"--category: unknown categories {unknown}; choose from {sorted(known)}")


def parse_cli_time(value: str | None, option: str, *, end_of_day: bool = False) -> datetime | None:
    """Parse an ISO 8601 option value: a date, a time, or an epoch number.

    A time without a zone is UTC. A date alone is that day's start in UTC, or with `end_of_day`
    its last microsecond, so that `--until 2025-03-12` includes the whole day.
    """
    if value is None:
        return None
    text = value.strip()
    try:
        if _DATE_ONLY.fullmatch(text):
            start = datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
            return start + timedelta(days=1, microseconds=-1) if end_of_day else start
        return parse_time(text)
    except (ValueError, OverflowError) as error:
        raise UsageError(
            f"{option}: {error}; write a date such as 2025-03-12 or a time such as "
            "2025-03-12T09:14:03Z"
        ) from None


def add_input_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that set how inputs are read, and the run summary options."""
    parser.add_argument(
        "--summary-json", type=Path, metavar="FILE", help="write the run summary as JSON to FILE"
    )
    parser.add_argument(
        "--no-dedup", action="store_true", help="keep duplicate copies of the same event"
    )
    parser.add_argument(
        "--input-tz",
        metavar="+HH:MM",
        help="time zone offset of input times that carry none (default: UTC)",
    )
    parser.add_argument(
        "--input-time-format",
        metavar="STRPTIME",
        help="strptime format for input times that are not ISO 8601, "
        "for example '%%b %%d, %%Y %%I:%%M:%%S %%p'",
    )
    parser.add_argument(
        "--field-map", type=Path, metavar="FILE", help="YAML field map for a generic CSV or JSON"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="do not print the run summary on stderr"
    )


def build_read_options(args: argparse.Namespace) -> ReadOptions:
    """Build the reader options from `add_input_options` arguments."""
    return ReadOptions(
        input_tz=parse_offset(args.input_tz),
        input_time_format=check_time_format_option(args.input_time_format),
        field_map=args.field_map,
    )


# The world's time zones span UTC-12:00 to UTC+14:00 (IANA tz database: Etc/GMT+12 and
# Pacific/Kiritimati).
_MIN_OFFSET = timedelta(hours=-12)
_MAX_OFFSET = timedelta(hours=14)


def parse_offset(value: str | None) -> timedelta | None:
    """Parse `--input-tz` as a UTC offset between -12:00 and +14:00."""
    if value is None:
        return None
    text = value.strip()
    if text.upper() in ("UTC", "Z"):
        return timedelta(0)
    match = re.fullmatch(r"(?:UTC)?([+-])(\d{1,2}):?(\d{2})?", text, re.IGNORECASE)
    if not match:
        raise UsageError(f"--input-tz: invalid offset {value!r}; write it as +HH:MM or -HH:MM")

    hours, minutes = int(match[2]), int(match[3] or 0)
    if minutes > 59:
        raise UsageError(f"--input-tz: invalid offset {value!r}; the minutes must be 00 to 59")
    offset = (-1 if match[1] == "-" else 1) * timedelta(hours=hours, minutes=minutes)
    if not _MIN_OFFSET <= offset <= _MAX_OFFSET:
        raise UsageError(
            f"--input-tz: offset {value!r} is outside -12:00 to +14:00, the range of time zones"
        )
    return offset


def check_time_format_option(value: str | None) -> str | None:
    """Check `--input-time-format` before any input is read."""
    if value is None:
        return None
    try:
        check_time_format(value)
    except ValueError as error:
        raise UsageError(f"--input-time-format: {error}") from None
    return value


def check_paths(paths: Sequence[str], args: argparse.Namespace) -> None:
    """Reject a second `-` and unusable output files before any input is read."""
    if list(paths).count("-") > 1:
        raise UsageError("- (standard input) is given more than once; it can be read only once")
    outputs = [("--output", args.output), ("--summary-json", args.summary_json)]
    check_output_paths(outputs, paths)


def report_summary(args: argparse.Namespace, summary: RunSummary) -> None:
    """Write the run summary to `--summary-json`, and its warnings and text to stderr."""
    if args.summary_json is not None:
        text = json.dumps(summary.to_json_dict(), indent=2, ensure_ascii=False) + "\n"
        write_output(text, args.summary_json, "--summary-json")
    if args.quiet:
        return
    for warning in summary.warnings:
        print_warning(warning)
    if summary.warning_count > len(summary.warnings):
        hidden = summary.warning_count - len(summary.warnings)
        print_warning(f"{hidden} more warning(s) not shown")
    sys.stderr.write(render_summary_text(summary))
    if summary.files_read == 0 and summary.files_failed == 0:
        print_error("no input files found: the given folders and archives contain no files to read")


def exit_code_for(summary: RunSummary) -> int:
    """Return NO_INPUT when nothing was read, PARTIAL when some inputs failed, else OK."""
    if summary.files_read == 0:
        return ExitCode.NO_INPUT
    if summary.files_failed:
        return ExitCode.PARTIAL
    return ExitCode.OK
