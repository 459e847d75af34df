"""The RMM tool catalog: a pydantic model, a YAML loader, lookups, a lint and render helpers."""

from __future__ import annotations

from rmmhunt.catalog.lint import LintIssue, lint_catalog
from rmmhunt.catalog.loader import CatalogValidationError, load_catalog
from rmmhunt.catalog.lookup import INDICATOR_COLUMNS, INDICATOR_TYPES, Catalog
from rmmhunt.catalog.model import (
    CATALOG_SCHEMA_VERSION,
    DEFAULT_CATEGORIES,
    Category,
    Reference,
    Tool,
)
from rmmhunt.catalog.seed import SEED_NAMES

__all__ = [
    "CATALOG_SCHEMA_VERSION",
    "DEFAULT_CATEGORIES",
    "INDICATOR_COLUMNS",
    "INDICATOR_TYPES",
    "SEED_NAMES",
    "Catalog",
    "CatalogValidationError",
    "Category",
    "LintIssue",
    "Reference",
    "Tool",
    "lint_catalog",
    "load_catalog",
]
