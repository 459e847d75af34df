"""The loaded catalog: tools by id, indicator lookups and the flat indicator table.

Lookups follow the matching rules in `rmmhunt.winpath`: names compare as case-folded Windows base
names (exactly, or through a `*`/`?` pattern), domains on a label boundary, hashes as lower-case
hexadecimal text.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from rmmhunt import winpath
from rmmhunt.catalog.model import CATALOG_SCHEMA_VERSION, Category, Tool

__all__ = ["INDICATOR_COLUMNS", "INDICATOR_TYPES", "Catalog"]

# Columns of `Catalog.indicator_rows()`, in order.
INDICATOR_COLUMNS = ("tool_id", "tool_name", "category", "indicator_type", "value", "is_pattern")

# Indicator type -> the `Tool` field it comes from (hashes are split by algorithm).
INDICATOR_TYPES = {
    "image_name": "executables",
    "original_file_name": "original_file_names",
    "sha256": "hashes",
    "md5": "hashes",
    "install_path": "install_paths",
    "code_signer": "code_signers",
    "domain": "domains",
    "service_name": "services",
    "driver_name": "drivers",
}


# Types whose values may hold wildcards; a domain `*.example.com` matches subdomains only.
_PATTERN_TYPES = frozenset({"image_name", "original_file_name", "install_path", "domain"})


def tool_indicators(tool: Tool) -> Iterator[tuple[str, str]]:
    """Yield `(indicator_type, value as written)` for every indicator of a tool."""
    fields: dict[str, Iterable[str]] = {
        "image_name": tool.executables,
        "original_file_name": tool.original_file_names,
        "sha256": tool.hashes.sha256,
        "md5": tool.hashes.md5,
        "install_path": tool.install_paths,
        "code_signer": tool.code_signers,
        "domain": tool.domains,
        "service_name": tool.services,
        "driver_name": tool.drivers,
    }
    for indicator_type, values in fields.items():
        for value in values:
            yield indicator_type, value


def comparison_value(indicator_type: str, value: str) -> str:
    """Return the form of an indicator that the hunt compares on, as `indicator_rows` stores it.

    Install paths are normalised and volume-stripped (`\\program files\\anydesk\\*`), domains lose
    a trailing dot, and every other type is case-folded text.
    """
    if indicator_type == "install_path":
        return winpath.strip_volume(value)
    if indicator_type == "domain":
        return winpath.normalise_domain(value)
    return value.strip().casefold()


@dataclass
class _NameIndex:
    """Exact names in a dict and patterns in a list, each mapped to the tools that claim them."""

    exact: dict[str, list[Tool]] = field(default_factory=lambda: defaultdict(list))
    patterns: list[tuple[str, Tool]] = field(default_factory=list)

    def add(self, value: str, tool: Tool) -> None:
        if winpath.is_pattern(value):
            self.patterns.append((value, tool))
        else:
            self.exact[value.strip().casefold()].append(tool)

    def match(self, name: str) -> list[Tool]:
        candidate = winpath.basename(name)
        if not candidate:
            return []
        found = list(self.exact.get(candidate, ()))
        found.extend(tool for pattern, tool in self.patterns if winpath.name_matches(pattern, name))
        return _unique_sorted(found)


def _unique_sorted(tools: Iterable[Tool]) -> list[Tool]:
    return sorted({tool.id: tool for tool in tools}.values(), key=lambda tool: tool.id)


class Catalog:
    """A validated set of tools, with indexes for the hunt's lookups.

    Attributes:
        tools: tools by id, sorted by id.
        sources: the display path of the file that defined each tool id.
        version: `<schema version>-<digest>`, where the digest is a SHA-256 prefix over the
            tools' content, so it changes when any field of any tool changes.
    """

    def __init__(self, tools: Iterable[Tool], sources: Mapping[str, str] | None = None) -> None:
        self.tools: dict[str, Tool] = {tool.id: tool for tool in sorted(tools, key=lambda t: t.id)}
        self.sources: dict[str, str] = dict(sources or {})
        self.version = self._digest()

        self._image_names = _NameIndex()
        self._original_names = _NameIndex()
        self._hashes: dict[str, list[Tool]] = defaultdict(list)
        self._domains: dict[str, list[Tool]] = defaultdict(list)
        self._subdomain_only: dict[str, list[Tool]] = defaultdict(list)
        for tool in self.tools.values():
            self._index(tool)

    def _digest(self) -> str:
        content = [tool.model_dump(mode="json") for tool in self.tools.values()]
        text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return f"{CATALOG_SCHEMA_VERSION}-{digest[:16]}"

    def _index(self, tool: Tool) -> None:
        for name in tool.executables:
            self._image_names.add(name, tool)
        for name in tool.original_file_names:
            self._original_names.add(name, tool)
        for value in (*tool.hashes.sha256, *tool.hashes.md5):
            self._hashes[value.strip().casefold()].append(tool)
        for domain in tool.domains:
            text = winpath.normalise_domain(domain)
            if text.startswith("*."):
                self._subdomain_only[text[2:]].append(tool)
            else:
                self._domains[text].append(tool)

    def __len__(self) -> int:
        return len(self.tools)

    def match_image_name(self, name: str) -> list[Tool]:
        """Return the tools whose executables match an image name or path, sorted by id."""
        return self._image_names.match(name)

    def match_original_file_name(self, name: str) -> list[Tool]:
        """Return the tools whose PE original file names match `name`, sorted by id."""
        return self._original_names.match(name)

    def match_hash(self, value: str) -> list[Tool]:
        """Return the tools that list a SHA-256 or MD5 hash, given as hexadecimal text."""
        return _unique_sorted(self._hashes.get(value.strip().casefold(), ()))

    def match_domain(self, host: str) -> list[Tool]:
        """Return the tools with a domain that equals `host` or is a parent of it."""
        labels = winpath.normalise_domain(host).split(".")
        found: list[Tool] = []

        # Walk the host's suffixes on label boundaries: a.b.c, b.c, c.
        for start in range(len(labels)):
            suffix = ".".join(labels[start:])
            if not suffix:
                continue
            found.extend(self._domains.get(suffix, ()))
            if start > 0:
                found.extend(self._subdomain_only.get(suffix, ()))
        return _unique_sorted(found)

    def tools_in_categories(self, categories: Iterable[Category | str]) -> list[Tool]:
        """Return the tools in any of the given categories, sorted by id.

        Raises:
            ValueError: a category name is not one of `Category`'s values.
        """
        selected = {Category(category) for category in categories}
        return [tool for tool in self.tools.values() if tool.category in selected]

    def indicator_rows(self) -> list[dict[str, str]]:
        """Build the flat indicator table that the hunt loads into an engine and joins on.

        Each row has the columns in `INDICATOR_COLUMNS`. `value` is the comparison form from
        `comparison_value` and `is_pattern` is `"true"` or `"false"`, so every column is text.
        Rows are sorted by tool id, then indicator type and value, without duplicates.
        """
        rows: dict[tuple[str, str, str], dict[str, str]] = {}
        for tool in self.tools.values():
            for indicator_type, written in tool_indicators(tool):
                value = comparison_value(indicator_type, written)
                pattern = indicator_type in _PATTERN_TYPES
                rows[(tool.id, indicator_type, value)] = {
                    "tool_id": tool.id,
                    "tool_name": tool.name,
                    "category": tool.category.value,
                    "indicator_type": indicator_type,
                    "value": value,
                    "is_pattern": "true" if pattern and winpath.is_pattern(value) else "false",
                }
        return [rows[key] for key in sorted(rows)]
