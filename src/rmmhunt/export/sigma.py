"""Render the built-in hunt as Sigma rules, from the catalog.

The `default` profile gives one `process_creation` rule per tool. It matches the image's base
name (`Image|endswith`), the PE original file name and the image hashes, as `rmmhunt hunt` does.
One more rule matches service installs in the System log (event 7045) whose `ImagePath` names a
tool's executable or driver. The `seed` profile gives one rule with the original hunt's seven
names.

Rule ids are UUID 5 values derived from the tool id and the rule's kind, so a rule keeps its id
from one export to the next.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from rmmhunt.catalog.lookup import Catalog
from rmmhunt.catalog.model import Category, Tool
from rmmhunt.catalog.seed import SEED_NAMES
from rmmhunt.errors import CatalogError
from rmmhunt.hunt import BASE_SEVERITY, PROFILES

__all__ = ["SIGMA_DROPPED", "SigmaOptions", "render_sigma_rules", "sigma_rule_documents"]

# Namespace of the rule ids. Changing it changes every exported rule's id.
_RULE_NAMESPACE = uuid.UUID("5d8f6c7e-2f1a-4b57-9a0e-3c1d2b6e8f40")
_AUTHOR = "rmmhunt"
# The export's date is fixed, so that two exports of one catalog give the same text.
_RULE_DATE = "2026-12-04"

SIGMA_DROPPED = [
    "service installs: Sigma matches 'ImagePath' containing '\\NAME', an approximation of the "
    "native hunt, which parses the service image path and compares its base name",
    "service installs: Security event 4697 is not exported, only System event 7045",
    "name patterns: Sigma's '*' also matches '\\', so 'Image|endswith: \\rustdesk*.exe' also "
    "matches a file below a folder whose name starts with 'rustdesk'",
]
"""Constructs of the `default` profile's hunt that the Sigma rules cannot express exactly."""


@dataclass(frozen=True)
class SigmaOptions:
    """Switches for the parts of the Sigma rules that some pySigma pipelines cannot convert.

    Attributes:
        original_file_name: match the PE original file name, which the Sentinel pipeline cannot.
        service_installs: add the service-install rule, for which the Kusto pipelines have no
            table.
    """

    original_file_name: bool = True
    service_installs: bool = True


def _rule_id(*parts: str) -> str:
    return str(uuid.uuid5(_RULE_NAMESPACE, "/".join(parts)))


def _attack_tags(techniques: Iterable[str]) -> list[str]:
    tags = ["attack.command-and-control", "attack.persistence"]
    tags.extend(f"attack.{technique.lower()}" for technique in dict.fromkeys(techniques))
    return tags


def _rule(title: str, rule_id: str, description: str, **body: Any) -> dict[str, Any]:
    return {
        "title": title,
        "id": rule_id,
        "status": "experimental",
        "description": description,
        "author": _AUTHOR,
        "date": _RULE_DATE,
        **body,
        "level": BASE_SEVERITY.lower(),
    }


def _process_rule(tool: Tool, options: SigmaOptions) -> dict[str, Any] | None:
    """Build the process_creation rule of one tool, or None when it has no name or hash."""
    names = list(dict.fromkeys(tool.executables))
    detection: dict[str, Any] = {}
    if names:
        detection["selection_image"] = {"Image|endswith": [f"\\{name}" for name in names]}
    original = list(dict.fromkeys([*tool.executables, *tool.original_file_names]))
    if original and options.original_file_name:
        detection["selection_original_file_name"] = {"OriginalFileName": original}
    hashes = [f"SHA256={value.upper()}" for value in tool.hashes.sha256]
    hashes.extend(f"MD5={value.upper()}" for value in tool.hashes.md5)
    if hashes:
        detection["selection_hash"] = {"Hashes|contains": hashes}
    if not detection:
        return None

    detection["condition"] = "1 of selection_*"
    return _rule(
        f"{tool.name} process start",
        _rule_id(tool.id, "process_creation"),
        f"Detects a process start of {tool.name} ({tool.category.value}), "
        "a remote access tool that intruders use for persistence.",
        tags=_attack_tags(("T1219", "T1133", *tool.techniques)),
        logsource={"category": "process_creation", "product": "windows"},
        detection=detection,
        falsepositives=[f"Authorised use of {tool.name} by IT staff or users"],
    )


def _service_rule(tools: list[Tool]) -> dict[str, Any] | None:
    # NOTE: `ImagePath|contains '\NAME'` only approximates the hunt's parsed image name. It
    # also matches `NAME.bak`, and it misses an image path without a folder.
    names = list(
        dict.fromkeys(name for tool in tools for name in (*tool.executables, *tool.drivers))
    )
    if not names:
        return None
    return _rule(
        "Remote access tool installed as a service",
        _rule_id("service_install", *sorted(tool.id for tool in tools)),
        "Detects a service install (System event 7045) whose image path names the executable "
        "or driver of a remote access tool.",
        tags=_attack_tags(("T1219", "T1133", "T1543.003")),
        logsource={"product": "windows", "service": "system"},
        detection={
            "selection": {
                "Provider_Name": "Service Control Manager",
                "EventID": 7045,
                "ImagePath|contains": [f"\\{name}" for name in names],
            },
            "condition": "selection",
        },
        falsepositives=["Authorised installs of remote access tools"],
    )


def _seed_rule() -> dict[str, Any]:
    return _rule(
        "RMM software execution for persistence",
        _rule_id("seed", "process_creation"),
        "Detects process starts whose image name is one of the seven names of the Cortex XSIAM "
        "hunt HuntQuery-Windows-RMM-Abuse, written as that hunt writes them.",
        tags=_attack_tags(("T1219", "T1133")),
        logsource={"category": "process_creation", "product": "windows"},
        detection={
            "selection": {"Image|endswith": [f"\\{name}" for name in SEED_NAMES]},
            "condition": "selection",
        },
        falsepositives=["Authorised use of remote access tools by IT staff or users"],
    )


def _selected_tools(catalog: Catalog, categories: Iterable[str]) -> list[Tool]:
    chosen = {str(category).strip().lower() for category in categories} - {""}
    if not chosen:
        chosen = {Category.RMM.value, Category.REMOTE_DESKTOP.value}
    if "all" in chosen:
        return list(catalog.tools.values())
    known = {category.value for category in Category}
    if unknown := sorted(chosen - known):
        raise CatalogError(
            f"unknown tool categories {unknown}", hint=f"choose from {sorted(known)}"
        )
    return catalog.tools_in_categories(sorted(chosen))


def sigma_rule_documents(
    catalog: Catalog,
    profile: str,
    categories: Iterable[str] = (),
    options: SigmaOptions | None = None,
) -> list[dict[str, Any]]:
    """Build the Sigma rules of a profile as plain mappings, in a stable order.

    Raises:
        CatalogError: the profile or a category is unknown.
    """
    if profile not in PROFILES:
        raise CatalogError(f"unknown hunt profile {profile!r}", hint=f"choose from {PROFILES}")
    if profile == "seed":
        return [_seed_rule()]

    options = options or SigmaOptions()
    tools = _selected_tools(catalog, categories)
    rules = [rule for tool in tools if (rule := _process_rule(tool, options)) is not None]
    if options.service_installs and (service := _service_rule(tools)) is not None:
        rules.append(service)
    return rules


def render_sigma_rules(documents: list[dict[str, Any]]) -> str:
    """Render rule mappings as one YAML stream, one document per rule."""
    return yaml.safe_dump_all(
        documents, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )
