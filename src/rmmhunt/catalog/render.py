"""Data for `rmmhunt catalog list` and `rmmhunt catalog show TOOL`, which the CLI prints."""

from __future__ import annotations

import difflib

import yaml

from rmmhunt.catalog.lookup import Catalog, tool_indicators
from rmmhunt.catalog.model import Category, Tool
from rmmhunt.errors import CatalogError

__all__ = ["LIST_COLUMNS", "find_tool", "list_rows", "tool_document", "tool_yaml"]

LIST_COLUMNS = ("id", "name", "category", "indicators")


def list_rows(
    catalog: Catalog, categories: tuple[Category | str, ...] = ()
) -> list[dict[str, object]]:
    """Build one row per tool (id, name, category, number of indicators), sorted by id.

    Args:
        catalog: the loaded catalog.
        categories: keep only tools in these categories, or every tool when empty.
    """
    tools = catalog.tools_in_categories(categories) if categories else catalog.tools.values()
    return [
        {
            "id": tool.id,
            "name": tool.name,
            "category": tool.category.value,
            "indicators": sum(1 for _ in tool_indicators(tool)),
        }
        for tool in tools
    ]


def find_tool(catalog: Catalog, query: str) -> Tool:
    """Find a tool by id, name or alias, ignoring case.

    Raises:
        CatalogError: no tool matches; the hint names the closest ids.
    """
    key = query.strip().casefold()
    for tool in catalog.tools.values():
        names = (tool.id, tool.name, *tool.aliases)
        if key in {name.casefold() for name in names}:
            return tool

    close = difflib.get_close_matches(key, list(catalog.tools), n=3)
    hint = f"did you mean {', '.join(close)}?" if close else "run `rmmhunt catalog list`"
    raise CatalogError(f"tool {query!r} not found in the catalog", hint=hint)


def tool_document(tool: Tool) -> dict[str, object]:
    """Return a tool as a plain dict in file order, without empty optional fields."""
    document = tool.model_dump(mode="json", exclude_defaults=True)
    document["category"] = tool.category.value
    return document


def tool_yaml(tool: Tool) -> str:
    """Render a tool as YAML text in the catalog's file format."""
    return yaml.safe_dump(
        tool_document(tool), sort_keys=False, allow_unicode=True, default_flow_style=False
    )
