"""The metadata of a hunt file, validated with pydantic; `docs/hunts.md` describes the format.

Unknown keys are rejected (`extra="forbid"`), so a misspelt field fails loudly instead of being
dropped.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from rmmhunt.catalog.model import Category

__all__ = [
    "SEVERITIES",
    "AttackMapping",
    "CatalogQuery",
    "HuntMetadata",
    "HuntReference",
    "VersionEntry",
]

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
HuntId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
TacticId = Annotated[str, StringConstraints(pattern=r"^TA[0-9]{4}$")]
TechniqueId = Annotated[str, StringConstraints(pattern=r"^T[0-9]{4}(?:\.[0-9]{3})?$")]

# Cortex XSIAM's severity levels for alerts.
SEVERITIES = ("Informational", "Low", "Medium", "High", "Critical")
Severity = Literal["Informational", "Low", "Medium", "High", "Critical"]
Rate = Literal["Low", "Medium", "High"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class AttackMapping(_Strict):
    """One row of the MITRE ATT&CK mapping: a tactic and a technique or sub-technique."""

    tactic: TacticId
    tactic_name: Text
    technique: TechniqueId
    technique_name: Text


class HuntReference(_Strict):
    """A source that the hunt's description or logic relies on."""

    title: Text
    url: Text

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"reference url {value!r} must start with https:// or http://")
        return value


class VersionEntry(_Strict):
    """One entry of the hunt's version history."""

    version: Text
    date: date
    impact: Text | None = None
    notes: Text


class CatalogQuery(_Strict):
    """A query that rmmhunt renders from the tool catalog when it loads the hunt."""

    profile: Literal["default", "seed"]
    categories: tuple[Category | Literal["all"], ...] = ()
    """Tool categories to hunt, or `all`; empty means `rmm` and `remote-desktop`."""


class HuntMetadata(_Strict):
    """The front matter of a hunt file."""

    id: HuntId
    name: Text
    # Strict, so that `true` and `"75"` are rejected rather than read as 1 and 75.
    risk_score: int = Field(strict=True, ge=0, le=100)
    severity: Severity
    operating_systems: tuple[Text, ...] = ()
    false_positive_rate: Rate | None = None
    attack: tuple[AttackMapping, ...] = Field(min_length=1)
    false_positives: tuple[Text, ...] = ()
    considerations: tuple[Text, ...] = ()
    response: tuple[Text, ...] = ()
    """Recommended response steps, in order."""

    references: tuple[HuntReference, ...] = ()
    version_history: tuple[VersionEntry, ...] = Field(min_length=1)
    catalog_query: CatalogQuery | None = None
    """When set, the query is rendered from the catalog and the body holds no ```xql block."""

    @property
    def techniques(self) -> list[str]:
        """The ATT&CK technique ids in mapping order, without repeats."""
        return list(dict.fromkeys(mapping.technique for mapping in self.attack))

    @property
    def version(self) -> str:
        """The latest version in the history, which lists the oldest first."""
        return self.version_history[-1].version
