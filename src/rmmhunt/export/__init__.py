"""Export the built-in, catalog-driven hunt to the query languages of other platforms.

Targets: `xql` (Cortex), `sigma`, the pySigma backend targets in `BACKEND_TARGETS` (`splunk`,
`defender-kql`, `sentinel-kql`, `esql`, `eql`, `lucene`) and `sql` in the dialects of
`SQL_DIALECTS`. Every target starts from the catalog, so an export follows the catalog's tools.
"""

from __future__ import annotations

from collections.abc import Iterable

from rmmhunt.catalog.lookup import Catalog
from rmmhunt.export.backends import BACKEND_TARGETS, convert_rules
from rmmhunt.export.comments import check_query_values, comment_text
from rmmhunt.export.result import ExportError, ExportResult
from rmmhunt.export.sigma import (
    SIGMA_DROPPED,
    SigmaOptions,
    render_sigma_rules,
    sigma_rule_documents,
)
from rmmhunt.export.sql import SQL_DIALECTS, render_sql
from rmmhunt.hunts.render import render_hunt_xql

__all__ = [
    "BACKEND_TARGETS",
    "SQL_DIALECTS",
    "TARGETS",
    "ExportError",
    "ExportResult",
    "SigmaOptions",
    "export_hunt",
]

TARGETS = ("xql", "sigma", *BACKEND_TARGETS, "sql")


def _commented(prefix: str | None, header: str, dropped: list[str], body: str) -> str:
    """Put a header and the dropped constructs before `body` as comments, when there are any."""
    if prefix is None:
        return body
    lines = [_comment_line(prefix, header)]
    lines.extend(_comment_line(prefix, f"dropped: {note}") for note in dropped)
    return "\n".join(lines) + "\n" + body


def _comment_line(prefix: str, text: str) -> str:
    """Write one comment line from the sanitised single-line form of `text`."""
    suffix = " ```" if prefix == "```" else ""
    return f"{prefix} {comment_text(text)}{suffix}"


def _sigma_dropped(profile: str) -> list[str]:
    # The seed profile has no service installs and no name patterns, so Sigma loses nothing.
    return list(SIGMA_DROPPED) if profile == "default" else []


def _export_backend(
    target: str, catalog: Catalog, profile: str, categories: Iterable[str]
) -> ExportResult:
    spec = BACKEND_TARGETS[target]
    documents = sigma_rule_documents(catalog, profile, categories, spec.options)
    check_query_values(target, documents, backticks=spec.comment == "```")
    # The seed rule has only image names, so only the default profile loses more here.
    dropped = _sigma_dropped(profile)
    if profile == "default":
        dropped.extend(spec.dropped)

    queries = convert_rules(spec, [render_sigma_rules([document]) for document in documents])
    if spec.comment is None:
        return ExportResult("\n".join(queries) + "\n", dropped)

    blocks = [
        _comment_line(spec.comment, f"{document['title']} ({document['id']})") + f"\n{query}\n"
        for document, query in zip(documents, queries, strict=True)
    ]
    header = f"rmmhunt built-in hunt, profile {profile}, {target} via pySigma"
    return ExportResult(_commented(spec.comment, header, dropped, "\n".join(blocks)), dropped)


def export_hunt(
    catalog: Catalog,
    target: str,
    *,
    profile: str = "default",
    categories: Iterable[str] = (),
    dialect: str = "duckdb",
) -> ExportResult:
    """Export the built-in hunt for a profile and tool categories to a target.

    Args:
        catalog: the loaded catalog.
        target: one of `TARGETS`.
        profile: `default` (the catalog hunt) or `seed` (the original hunt's seven names).
        categories: tool categories, or `all`; empty means the default categories.
        dialect: the SQL dialect, for the `sql` target only.

    Raises:
        ExportError: the target or dialect is unknown, a pySigma package is missing, or a
            backend or sqlglot cannot express the hunt.
        CatalogError: the profile or a category is unknown.
    """
    categories = tuple(categories)
    if target == "xql":
        return ExportResult(render_hunt_xql(catalog, profile, categories))
    if target == "sigma":
        dropped = _sigma_dropped(profile)
        rules = render_sigma_rules(sigma_rule_documents(catalog, profile, categories))
        header = f"rmmhunt built-in hunt, profile {profile}"
        return ExportResult(_commented("#", header, dropped, rules), dropped)
    if target in BACKEND_TARGETS:
        return _export_backend(target, catalog, profile, categories)
    if target == "sql":
        xql = render_hunt_xql(catalog, profile, categories)
        statement, warnings = render_sql(xql, dialect)
        header = f"rmmhunt built-in hunt, profile {profile}, SQL dialect {dialect}"
        return ExportResult(_commented("--", header, warnings, statement), warnings)
    raise ExportError(f"unknown export target {target!r}", hint=f"choose from {', '.join(TARGETS)}")
