"""Catalog checks that go beyond the schema: shared names, dead patterns, missing sources.

An `error` is a problem that gives wrong or unexplained results, so it must be fixed. A `warning`
marks a value that is unusual and worth a second look.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from rmmhunt import winpath
from rmmhunt.catalog.lookup import Catalog, comparison_value, tool_indicators
from rmmhunt.catalog.model import FACT_FIELDS, Tool

__all__ = ["LintIssue", "lint_catalog"]

Severity = Literal["error", "warning"]

_HEX = re.compile(r"^[0-9a-fA-F]+$")
_HASH_LENGTHS = {"sha256": 64, "md5": 32}

# Indicator types whose values identify one tool, so two tools must not both claim a value.
_IDENTIFYING_TYPES = ("image_name", "original_file_name", "service_name", "driver_name", "domain")
_NAME_TYPES = frozenset({"image_name", "original_file_name", "driver_name"})


@dataclass(frozen=True, order=True)
class LintIssue:
    """One problem found in a catalog."""

    severity: Severity
    tool_id: str
    message: str


def _fact_values(tool: Tool) -> dict[str, tuple[str, ...]]:
    values = {name: getattr(tool, name) for name in FACT_FIELDS if name != "hashes"}
    values["hashes"] = (*tool.hashes.sha256, *tool.hashes.md5)
    return values


def _check_references(tool: Tool) -> Iterator[LintIssue]:
    if not tool.references:
        yield LintIssue("error", tool.id, "the tool has no references; add a source for its facts")
        return

    covered = {name for reference in tool.references for name in reference.covers}
    for name, values in _fact_values(tool).items():
        if values and name not in covered:
            yield LintIssue(
                "error", tool.id, f"no reference covers {name}; add its source to references"
            )


def _check_name(tool: Tool, field: str, value: str) -> Iterator[LintIssue]:
    """Check a file name (executable, original file name or driver)."""
    if "\\" in value or "/" in value:
        yield LintIssue(
            "error",
            tool.id,
            f"{field} value {value!r} contains a path separator and can never match a base name; "
            "move it to install_paths",
        )
        return
    stem, dot, extension = value.rpartition(".")
    if not dot or not stem or not extension or winpath.is_pattern(extension):
        severity: Severity = "error" if field == "executables" else "warning"
        yield LintIssue(severity, tool.id, f"{field} value {value!r} has no file extension")
    elif field == "drivers" and extension.casefold() != "sys":
        yield LintIssue("warning", tool.id, f"drivers value {value!r} does not end in .sys")


def _check_values(tool: Tool) -> Iterator[LintIssue]:
    for field in ("executables", "original_file_names", "drivers"):
        for value in getattr(tool, field):
            yield from _check_name(tool, field, value)

    for algorithm, length in _HASH_LENGTHS.items():
        for value in getattr(tool.hashes, algorithm):
            if len(value) != length or not _HEX.match(value):
                yield LintIssue(
                    "error",
                    tool.id,
                    f"{algorithm} value {value!r} is invalid; expected {length} hexadecimal digits",
                )

    for domain in tool.domains:
        if not winpath.is_valid_domain(domain):
            yield LintIssue(
                "error",
                tool.id,
                f"domain {domain!r} is invalid; write a DNS name such as example.com "
                "or *.example.com, without scheme, port or regular expression",
            )


def _shares(first: Tool, second: Tool) -> bool:
    return second.id in first.shared_with and first.id in second.shared_with


def _check_shared(catalog: Catalog) -> Iterator[LintIssue]:
    """Report values that two tools claim, exactly or through one tool's name pattern."""
    claims: dict[tuple[str, str], list[Tool]] = defaultdict(list)
    patterns: list[tuple[str, str, Tool]] = []
    for tool in catalog.tools.values():
        for indicator_type, written in tool_indicators(tool):
            if indicator_type not in _IDENTIFYING_TYPES:
                continue
            value = comparison_value(indicator_type, written)
            if indicator_type in _NAME_TYPES and winpath.is_pattern(value):
                # A pattern of only wildcards is reported by _check_name, not once per rival.
                if value.strip("*?"):
                    patterns.append((indicator_type, value, tool))
            elif tool not in claims[(indicator_type, value)]:
                claims[(indicator_type, value)].append(tool)

    reported: set[tuple[str, str, str]] = set()
    for (indicator_type, value), owners in claims.items():
        others = [
            (p_tool, p_value) for p_type, p_value, p_tool in patterns if p_type == indicator_type
        ]
        rivals = [(tool, value) for tool in owners[1:]]
        rivals += [
            (p_tool, p_value)
            for p_tool, p_value in others
            if p_tool is not owners[0] and winpath.name_matches(p_value, value)
        ]
        for rival, claimed_as in rivals:
            owner = owners[0]
            key = (min(owner.id, rival.id), max(owner.id, rival.id), value)
            if rival is owner or _shares(owner, rival) or key in reported:
                continue
            reported.add(key)
            via = "" if claimed_as == value else f" (through the pattern {claimed_as!r})"
            yield LintIssue(
                "error",
                owner.id,
                f"{indicator_type} {value!r} is also claimed by {rival.id}{via}; remove it from "
                f"one tool, or list each tool in the other's shared_with",
            )


def lint_catalog(catalog: Catalog) -> list[LintIssue]:
    """Check a loaded catalog and return its issues, sorted by severity, tool id and message."""
    issues: list[LintIssue] = []
    for tool in catalog.tools.values():
        issues.extend(_check_references(tool))
        issues.extend(_check_values(tool))
        for other in tool.shared_with:
            if other not in catalog.tools:
                issues.append(
                    LintIssue("error", tool.id, f"shared_with names unknown tool {other!r}")
                )
    issues.extend(_check_shared(catalog))
    return sorted(set(issues))
