"""Render the built-in hunt as XQL from the catalog, for a profile and tool categories.

The catalog is the one source of truth for tool names, so the built-in hunt's XQL filter is
rendered here at load time and never written by hand. The rendered query selects the same events
as `rmmhunt.hunt.run_hunt` with the same profile and categories, in the same order:

- `default`: process starts on Windows whose image name or PE original file name is a catalog
  name, or whose image hash is a catalog hash. Also service installs (System 7045, Security
  4697) whose image name is a catalog executable or driver.
- `seed`: process starts on Windows whose image name is one of the original XQL hunt's seven
  names, written as that hunt writes them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rmmhunt.catalog.lookup import Catalog
from rmmhunt.catalog.model import Category
from rmmhunt.catalog.seed import SEED_NAMES
from rmmhunt.errors import CatalogError
from rmmhunt.hunt import DEFAULT_CATEGORIES, PROFILES, SERVICE_INSTALL_EVENT_IDS
from rmmhunt.schema import EVENT_TYPE_EVENT_LOG, EVENT_TYPE_PROCESS, OS_WINDOWS, SEED_FIELDS
from rmmhunt.schema import SUB_TYPE_PROCESS_START as PROCESS_START
from rmmhunt.winpath import text_glob_regex

__all__ = ["render_hunt_xql"]

INDENT = "    "


@dataclass
class _Indicators:
    """Catalog values by the `xdr_data` column they are compared with, in catalog order."""

    process: dict[str, list[str]] = field(default_factory=dict)
    service: dict[str, list[str]] = field(default_factory=dict)


def render_hunt_xql(catalog: Catalog, profile: str, categories: Iterable[str] = ()) -> str:
    """Render the built-in hunt for a profile and tool categories as an XQL query.

    Args:
        catalog: the loaded catalog, built-in tools plus any `--catalog` folders.
        profile: `default` (the catalog hunt) or `seed` (the original hunt's seven names).
        categories: tool categories, or `all`; empty means the default categories. The `seed`
            profile ignores them, as `rmmhunt hunt --profile seed` does.

    Returns:
        The query text, ending with a newline.

    Raises:
        CatalogError: the profile or a category is unknown, the categories hold no indicator,
            or a catalog value contains a double quote, which an XQL string cannot hold.
    """
    if profile not in PROFILES:
        raise CatalogError(
            f"unknown hunt profile {profile!r}", hint=f"choose from {', '.join(PROFILES)}"
        )
    selected = _check_categories(categories)
    header = f"// rmmhunt built-in hunt, profile {profile}"
    if profile == "seed":
        return _render_query(header, _seed_filter())

    indicators = _collect(catalog, selected)
    header += f", categories {', '.join(sorted(selected))}, catalog {catalog.version}"
    return _render_query(header, _default_filter(indicators))


def _check_categories(categories: Iterable[str]) -> frozenset[str]:
    chosen = frozenset(str(category).strip().lower() for category in categories) - {""}
    if not chosen:
        return DEFAULT_CATEGORIES
    known = {category.value for category in Category} | {"all"}
    unknown = sorted(chosen - known)
    if unknown:
        raise CatalogError(
            f"unknown tool categories {unknown}", hint=f"choose from {sorted(known)}"
        )
    return chosen


def _collect(catalog: Catalog, categories: frozenset[str]) -> _Indicators:
    """Group the indicator table's comparison values by the column the hunt joins them on."""
    by_type: dict[str, list[str]] = {}
    for row in catalog.indicator_rows():
        if "all" not in categories and row["category"] not in categories:
            continue
        values = by_type.setdefault(row["indicator_type"], [])
        if row["value"] not in values:
            values.append(row["value"])

    # The same joins as rmmhunt.hunt.PROCESS_JOINS and SERVICE_JOINS. A PE original file name is
    # also compared with executable names, because it survives renaming.
    names = by_type.get("image_name", [])
    indicators = _Indicators()
    indicators.process = {
        "action_process_image_name": names,
        "action_process_original_file_name": _merge(names, by_type.get("original_file_name", [])),
        "action_process_image_sha256": by_type.get("sha256", []),
        "action_process_image_md5": by_type.get("md5", []),
    }
    indicators.service = {
        "action_process_image_name": _merge(names, by_type.get("driver_name", [])),
    }
    if not any(indicators.process.values()) and not any(indicators.service.values()):
        raise CatalogError(
            f"no catalog tool in categories {sorted(categories)} has a name or hash to hunt for",
            hint="choose other categories, or add executables to the catalog",
        )
    return indicators


def _merge(first: list[str], second: list[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def _seed_filter() -> list[str]:
    return [
        f"event_type = ENUM.{EVENT_TYPE_PROCESS}",
        f"and event_sub_type = ENUM.{PROCESS_START}",
        f"and agent_os_type = ENUM.{OS_WINDOWS}",
        *_membership("action_process_image_name", list(SEED_NAMES), prefix="and "),
    ]


def _default_filter(indicators: _Indicators) -> list[str]:
    process = [
        f"event_type = ENUM.{EVENT_TYPE_PROCESS}",
        f"and event_sub_type = ENUM.{PROCESS_START}",
        *_any_of(indicators.process),
    ]
    service_ids = ", ".join(str(event_id) for event_id in SERVICE_INSTALL_EVENT_IDS)
    service = [
        f"event_type = ENUM.{EVENT_TYPE_EVENT_LOG}",
        f"and action_evtlog_event_id in ({service_ids})",
        *_any_of(indicators.service),
    ]
    branches = [
        branch
        for branch, values in ((process, indicators.process), (service, indicators.service))
        if any(values.values())
    ]
    lines = [f"agent_os_type = ENUM.{OS_WINDOWS}", "and ("]
    for index, branch in enumerate(branches):
        lines.append(INDENT + ("(" if index == 0 else "or ("))
        lines.extend(INDENT * 2 + line for line in branch)
        lines.append(INDENT + ")")
    lines.append(")")
    return lines


def _any_of(columns: dict[str, list[str]]) -> list[str]:
    """Render `and (c1 in (...) or c2 in (...))` over the columns that have values."""
    lines = ["and ("]
    for column, values in columns.items():
        if values:
            prefix = "" if len(lines) == 1 else "or "
            lines.extend(INDENT + line for line in _membership(column, values, prefix=prefix))
    lines.append(")")
    return lines


def _membership(column: str, values: list[str], *, prefix: str) -> list[str]:
    """Render a test that `column` equals one of `values`, where `*` and `?` are wildcards.

    A value with `?` becomes an anchored regular expression, because `?` is no wildcard in XQL.
    """
    plain = [value for value in values if "?" not in value]
    alternatives: list[list[str]] = []
    if plain:
        listed = [f"{INDENT}{_string(value)}," for value in plain]
        listed[-1] = listed[-1].rstrip(",")
        alternatives.append([f"{column} in (", *listed, ")"])
    alternatives.extend(
        [f"{column} ~= {_string(_glob_regex(value))}"] for value in values if "?" in value
    )

    if len(alternatives) == 1:
        lines = alternatives[0]
        return [prefix + lines[0], *lines[1:]]

    # Several alternatives bind together in brackets under the caller's `and` or `or`.
    lines = [prefix + "("]
    for index, alternative in enumerate(alternatives):
        joiner = "" if index == 0 else "or "
        lines.append(INDENT + joiner + alternative[0])
        lines.extend(INDENT + line for line in alternative[1:])
    lines.append(")")
    return lines


def _glob_regex(pattern: str) -> str:
    """Translate a `*`/`?` name pattern into an anchored regular expression."""
    return "(?s)^" + text_glob_regex(pattern) + "$"


def _string(value: str) -> str:
    """Quote a value as an XQL double-quoted string, in which nothing is escaped."""
    # splitlines() finds every line break, CR and U+2028 included, not only LF.
    if '"' in value or value.splitlines() != [value]:
        raise CatalogError(
            f"catalog value {value!r} contains a double quote or a line break",
            hint="an XQL string cannot hold it; file names on Windows never contain one",
        )
    return f'"{value}"'


def _render_query(header: str, filter_lines: list[str]) -> str:
    lines = [
        header,
        "config case_sensitive = false",
        "| dataset = xdr_data",
        f"| filter {filter_lines[0]}",
        *(INDENT + line for line in filter_lines[1:]),
        f"| fields {', '.join(SEED_FIELDS)}",
        "| sort desc _time",
    ]
    return "\n".join(lines) + "\n"
