"""Build each alert's `launch_context`: parent and ancestor classes, image path class, renamed
binary evidence, and the setup options and server hosts in its command line.

`launch_context` is a dict with these keys:

- `parent`: `{image_name, image_path, class}` for the process that started the tool, or None.
  `class` is a `ProcessClass` value or None when the name is not listed.
- `ancestors`: the same for each ancestor above the parent that has a class, nearest first.
- `image_path`, `image_path_class` (a `PathClass` value or None), `vendor_install_path`
  (whether the path matches one of the catalog's install paths for the tool) and
  `has_install_paths` (whether the catalog lists any for it).
- `renamed`: None, or `{image_name, expected, evidence}` when the tool runs under a file name
  that is not one of its own.
- `findings`: recognised options, each `{id, category, detail}`.
- `servers`: relay or server hosts from the command line or file name, each `{host, port,
  source, infrastructure}`, with `infrastructure` `vendor` when a catalog domain matches the
  host on a label boundary, else `unknown`.

The parent comes from `causality_chain` when enrichment built one, else from the event's own
actor columns, so the context also works on alerts that carry no chain.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from rmmhunt import winpath
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.catalog.model import Tool
from rmmhunt.inventory import image_path as alert_image_path
from rmmhunt.launch.commandline import analyse_command_line
from rmmhunt.launch.paths import classify_path
from rmmhunt.launch.processes import classify_process
from rmmhunt.servicepath import parse_service_image_path

Alert = dict[str, Any]

# Kinds whose tool process is the event's actor, not its action.
_ACTOR_KINDS: Final = frozenset({"rmm_activity"})
# Kinds with no tool process of their own: the tool is only named or contacted.
_NO_TOOL_PROCESS: Final = frozenset({"rmm_vendor_contact"})


def attach_launch_context(alerts: Iterable[Alert], catalog: Catalog) -> None:
    """Set `launch_context` on every alert, as this module's docstring describes it."""
    for alert in alerts:
        alert["launch_context"] = build_launch_context(alert, catalog)


def build_launch_context(alert: Alert, catalog: Catalog) -> dict[str, Any]:
    """Return the launch context of one alert."""
    tool = catalog.tools.get(str(alert.get("tool_id"))) if alert.get("tool_id") else None
    parent, ancestors = _parent_and_ancestors(alert)
    path = _tool_image_path(alert)
    command_line = _tool_command_line(alert)
    analysis = analyse_command_line(command_line, path)

    servers = []
    for server in analysis.servers:
        vendor = catalog.match_domain(server.host) if not _is_address(server.host) else []
        servers.append(
            {
                "host": server.host,
                "port": server.port,
                "source": server.source,
                "infrastructure": "vendor" if vendor else "unknown",
            }
        )

    return {
        "parent": parent,
        "ancestors": ancestors,
        "image_path": path,
        "image_path_class": _value(classify_path(path)),
        "vendor_install_path": _in_install_path(tool, path),
        "has_install_paths": bool(tool is not None and tool.install_paths),
        "renamed": _renamed(alert, tool, path),
        "findings": [
            {"id": finding.id, "category": finding.category, "detail": finding.detail}
            for finding in analysis.findings
        ],
        "servers": servers,
    }


def _parent_and_ancestors(alert: Alert) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    chain = [entry for entry in alert.get("causality_chain") or [] if isinstance(entry, dict)]
    if not chain and alert.get("kind") == "process_start":
        chain = [
            {
                "image_name": alert.get("actor_process_image_name"),
                "image_path": alert.get("actor_process_image_path"),
            }
        ]

    # An export such as Cortex XDR's names the causality actor even when the rows between it
    # and the parent are missing, so it counts as an ancestor when the chain does not hold it.
    actor = {
        "image_name": alert.get("causality_actor_process_image_name"),
        "image_path": alert.get("causality_actor_process_image_path"),
    }
    names = {winpath.basename(str(e.get("image_name") or e.get("image_path") or "")) for e in chain}
    actor_name = winpath.basename(str(actor["image_name"] or actor["image_path"] or ""))
    if chain and actor_name and actor_name not in names:
        chain.append(actor)

    chain = [entry for entry in chain if entry.get("image_name") or entry.get("image_path")]
    if not chain:
        return None, []

    entries = [_classified(entry) for entry in chain]
    parent, above = entries[0], entries[1:]
    ancestors = [entry for entry in above if entry["class"] is not None]
    return parent, ancestors


def _classified(entry: dict[str, Any]) -> dict[str, Any]:
    name = entry.get("image_name")
    path = entry.get("image_path")
    if not name and path:
        name = winpath.basename(str(path))
    return {
        "image_name": name,
        "image_path": path,
        "class": _value(classify_process(name, path)),
    }


def _tool_image_path(alert: Alert) -> str | None:
    kind = alert.get("kind")
    if kind in _NO_TOOL_PROCESS:
        return None
    if kind in _ACTOR_KINDS:
        return _text(alert.get("actor_process_image_path"))
    if kind == "persistence":
        command = _text(alert.get("persistence_command"))
        executable = parse_service_image_path(command).executable if command else ""
        return executable or None
    return alert_image_path(alert)


def _tool_command_line(alert: Alert) -> str | None:
    kind = alert.get("kind")
    if kind in _NO_TOOL_PROCESS:
        return None
    if kind in _ACTOR_KINDS:
        return _text(alert.get("actor_process_command_line"))
    if kind == "persistence":
        return _text(alert.get("persistence_command"))
    if kind == "service_install":
        return _text(alert.get("action_service_image_path"))
    return _text(alert.get("action_process_image_command_line"))


def _in_install_path(tool: Tool | None, path: str | None) -> bool:
    if tool is None or not path:
        return False
    return any(winpath.path_matches(pattern, path) for pattern in tool.install_paths)


def _renamed(alert: Alert, tool: Tool | None, path: str | None) -> dict[str, Any] | None:
    """Describe a tool that runs under a file name that is not one of its own."""
    if tool is None or not tool.executables or alert.get("kind") in _NO_TOOL_PROCESS:
        return None
    name = winpath.basename(path) if path else None
    if not name and alert.get("kind") == "process_start":
        name = winpath.basename(str(alert.get("action_process_image_name") or ""))
    if not name or any(winpath.name_matches(pattern, name) for pattern in tool.executables):
        return None

    evidence = _identity_evidence(alert, tool)
    if evidence is None:
        return None
    return {"image_name": name, "expected": list(tool.executables), "evidence": evidence}


def _identity_evidence(alert: Alert, tool: Tool) -> str | None:
    """Return what identifies the binary as the tool despite its name, or None."""
    original = _text(alert.get("action_process_original_file_name"))
    own_names = (*tool.executables, *tool.original_file_names)
    if original and any(winpath.name_matches(pattern, original) for pattern in own_names):
        return f"PE original file name {original}"
    if "hash" in (alert.get("matched_on") or []):
        return "file hash listed for the tool"
    tool_names = {name.casefold() for name in (tool.name, *tool.aliases)}
    for column, label in (
        ("action_process_file_product", "PE product name"),
        ("action_process_file_description", "PE file description"),
    ):
        value = _text(alert.get(column))
        if value and value.casefold() in tool_names:
            return f"{label} {value}"
    return None


def _is_address(host: str) -> bool:
    return host.replace(".", "").isdigit() or ":" in host


def _value(member: object) -> str | None:
    return None if member is None else str(member)


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None
