"""Exit codes, errors and option parsers that every subcommand shares."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from enum import IntEnum
from pathlib import Path

from rmmhunt.catalog import Category
from rmmhunt.hunt import DEFAULT_CATEGORIES
from rmmhunt.normalise import parse_time
from rmmhunt.report.safety import terminal_text


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0
    USAGE = 2
    PARTIAL = 3
    NO_INPUT = 4
    CONFIG = 5
    INTERNAL = 70


class UsageError(Exception):
    """An option value that is invalid."""


def print_error(message: str) -> None:
    """Write an error line to stderr, with control characters made visible."""
    sys.stderr.write(f"rmmhunt: error: {terminal_text(message)}\n")


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
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        reason = error.strerror or str(error)
        raise UsageError(
            f"{option}: cannot write {output}: {reason}; choose a writable file path"
        ) from None


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


def parse_cli_time(value: str | None, option: str) -> datetime | None:
    """Parse an ISO 8601 option value; a time without a zone is UTC."""
    if value is None:
        return None
    try:
        return parse_time(value)
    except ValueError as error:
        raise UsageError(f"{option}: {error}") from None
