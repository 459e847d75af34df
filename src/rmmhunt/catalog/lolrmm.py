"""Import LOLRMM's `rmm_tools.json` as catalog tools, and report what could not be used.

LOLRMM (https://lolrmm.io) lists remote access tools with file names, install paths, domains,
hashes and signers. Its lists mix these kinds, so each value is classified here:

- A value with a path separator is split with Windows path rules (`PureWindowsPath`, on every
  OS). The path becomes an install path. Its last component becomes an executable name when it
  ends in `.exe` or `.scr`, the extensions of a process image.
- A whole path component `*` or `%VARIABLE%` stands for any folders, so it becomes `**`, and a
  path that ends in a folder gets `\\**` to cover the files below it.
- A bare name with `*` or `?` becomes a name pattern. A bare `.com` name that is a valid DNS name
  becomes a domain, because RMM agents do not ship COM programs. Hexadecimal text of 32 or 64
  digits becomes an MD5 or SHA-256 hash.
- Anything else (POSIX paths, installers, scripts, free text, placeholders such as `<ID>`,
  SHA-1 hashes, domains with a wildcard inside a label) is skipped with a reason.

Tools that LOLRMM lists twice under one name are merged. LOLRMM's `RAT` category becomes
`remote-admin`, which the default hunt leaves out, because it mixes remote desktops with SSH
clients, file sync and tunnels.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any

from pydantic import ValidationError

from rmmhunt import winpath
from rmmhunt.catalog.model import FACT_FIELDS, Category, Tool
from rmmhunt.errors import CatalogError
from rmmhunt.report.safety import unsafe_character

__all__ = ["LolrmmImport", "SkippedValue", "import_lolrmm", "read_lolrmm"]

CATEGORIES = {"RMM": Category.RMM, "RAT": Category.REMOTE_ADMIN}
PROCESS_EXTENSIONS = (".exe", ".scr")
TOOL_PAGE = "https://lolrmm.io/tools/"
# Imported ids get this prefix, so that an imported tool never silently replaces a built-in one
# of the same name when both are loaded.
ID_PREFIX = "lolrmm-"

_HEX = re.compile(r"^[0-9a-fA-F]+$")
_HASH_KINDS = {32: "md5", 40: "sha1", 64: "sha256"}
_ENV_VARIABLE = re.compile(r"^%[^%\\/]+%$")
_FORBIDDEN_IN_NAMES = frozenset('<>:"|')
_FORBIDDEN_IN_PATHS = frozenset('<>:"|')
_DRIVE = re.compile(r"^[A-Za-z]:")
_SERVICE_TYPES = frozenset({"servicename", "service name", "windows service name", "service"})
_UNUSED_ARTIFACTS = ("Disk", "EventLog", "Registry")


@dataclass(frozen=True)
class SkippedValue:
    """A LOLRMM value that the importer could not turn into an indicator."""

    tool: str
    field: str
    value: str
    reason: str


@dataclass
class LolrmmImport:
    """The imported tools and an account of what was left out.

    Attributes:
        tools: valid catalog tools, sorted by id.
        skipped_values: values that fit no catalog field.
        skipped_tools: `(LOLRMM name, reason)` for entries that gave no tool.
        merged: LOLRMM names that appeared more than once and were merged into one tool.
        unused: LOLRMM fields that the catalog has no place for, with their number of values.
    """

    tools: list[Tool] = field(default_factory=list)
    skipped_values: list[SkippedValue] = field(default_factory=list)
    skipped_tools: list[tuple[str, str]] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    unused: Counter[str] = field(default_factory=Counter)

    def counts(self) -> dict[str, int]:
        """Count tools and indicators by kind, and what was skipped."""
        totals: Counter[str] = Counter()
        for tool in self.tools:
            names = tool.executables
            totals["names"] += sum(1 for name in names if not winpath.is_pattern(name))
            totals["name_patterns"] += sum(1 for name in names if winpath.is_pattern(name))
            totals["original_file_names"] += len(tool.original_file_names)
            totals["install_paths"] += len(tool.install_paths)
            totals["domains"] += len(tool.domains)
            totals["sha256"] += len(tool.hashes.sha256)
            totals["md5"] += len(tool.hashes.md5)
            totals["code_signers"] += len(tool.code_signers)
            totals["services"] += len(tool.services)
        return {
            "tools": len(self.tools),
            **{key: totals[key] for key in sorted(totals)},
            "skipped_values": len(self.skipped_values),
            "skipped_tools": len(self.skipped_tools),
            "merged_duplicates": len(self.merged),
        }


@dataclass
class _Draft:
    """The indicators of one LOLRMM name, gathered before the Tool is built."""

    name: str
    category: str
    description: str
    website: str
    values: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, value: str) -> None:
        values = self.values.setdefault(kind, [])
        if value.casefold() not in {existing.casefold() for existing in values}:
            values.append(value)


def read_lolrmm(path: Path) -> list[Any]:
    """Read LOLRMM's `rmm_tools.json`: a JSON array of tool objects.

    Raises:
        CatalogError: the file cannot be read, is not JSON, or is not an array.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CatalogError(
            f"failed to read the LOLRMM file: {error.strerror}", path=str(path)
        ) from None
    except json.JSONDecodeError as error:
        raise CatalogError(
            f"invalid JSON: {error.msg}",
            path=str(path),
            line=error.lineno,
            column=error.colno,
            hint="pass LOLRMM's rmm_tools.json (its website's api/rmm_tools.json)",
        ) from None
    if not isinstance(data, list):
        raise CatalogError(
            f"expected a JSON array of tools, got {type(data).__name__}",
            path=str(path),
            hint="pass LOLRMM's rmm_tools.json, not rmm_tools.csv or another list",
        )
    return data


def import_lolrmm(entries: list[Any]) -> LolrmmImport:
    """Turn LOLRMM tool entries into catalog tools.

    Args:
        entries: the decoded JSON array of `rmm_tools.json`.

    Returns:
        The tools, which each validate against the catalog model, and what was skipped.
    """
    result = LolrmmImport()
    drafts: dict[str, _Draft] = {}
    for position, entry in enumerate(entries):
        if not isinstance(entry, dict) or not _text(entry.get("Name")):
            result.skipped_tools.append((f"entry {position}", "not an object with a Name"))
            continue
        draft = _new_draft(entry)
        if reason := _unsafe_reason(draft.name):
            result.skipped_tools.append((draft.name, f"the name {reason}"))
            continue
        _check_prose(draft, result)
        key = draft.name.casefold()
        if key in drafts:
            result.merged.append(draft.name)
            draft = drafts[key]
        else:
            drafts[key] = draft
        _read_entry(entry, draft, result)

    used_ids: set[str] = set()
    for draft in drafts.values():
        tool = _build_tool(draft, used_ids, result)
        if tool is not None:
            used_ids.add(tool.id)
            result.tools.append(tool)
    result.tools.sort(key=lambda tool: tool.id)
    return result


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _unsafe_reason(value: str, *, prose: bool = False) -> str | None:
    """Say why a value cannot go into the catalog safely, or return None when it can.

    The catalog model rejects control and invisible characters, and exports write names and
    indicators into queries and comments, where a backtick could end an SPL comment. Prose (a
    description) may hold tabs, line breaks and backticks, because no export writes it.
    """
    if (found := unsafe_character(value, multiline=prose)) is not None:
        return f"contains the control character {found}"
    if "`" in value and not prose:
        return "contains a backtick, which can end a comment in an exported SPL query"
    return None


def _usable(value: str, label: str, draft: _Draft, result: LolrmmImport) -> bool:
    """Report a value with unsafe characters as skipped, and tell whether it is usable."""
    if (reason := _unsafe_reason(value)) is None:
        return True
    _skip(result, draft, label, value, reason)
    return False


def _check_prose(draft: _Draft, result: LolrmmImport) -> None:
    """Drop a description or website that the catalog cannot hold, and report it."""
    if draft.description and (reason := _unsafe_reason(draft.description, prose=True)):
        _skip(result, draft, "Description", draft.description, reason)
        draft.description = ""
    if draft.website and (reason := _unsafe_reason(draft.website)):
        _skip(result, draft, "Details.Website", draft.website, reason)
        draft.website = ""


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _new_draft(entry: dict[str, Any]) -> _Draft:
    details = _dict(entry.get("Details"))
    return _Draft(
        name=_text(entry.get("Name")),
        category=_text(entry.get("Category")),
        description=_text(entry.get("Description")),
        website=_text(details.get("Website")),
    )


def _read_entry(entry: dict[str, Any], draft: _Draft, result: LolrmmImport) -> None:
    """Classify every value of one LOLRMM entry into the draft, or into the report."""
    details = _dict(entry.get("Details"))
    artifacts = _dict(entry.get("Artifacts"))

    # LOLRMM puts install paths under Details, and a few entries at the top or under Artifacts.
    for where, holder in (("Details", details), ("", entry), ("Artifacts", artifacts)):
        label = f"{where}.InstallationPaths" if where else "InstallationPaths"
        for value in _list(holder.get("InstallationPaths")):
            _classify_path(_text(value), label, draft, result)

    metadata = details.get("PEMetadata")
    for item in _list(metadata) if isinstance(metadata, list) else [_dict(metadata)]:
        item = _dict(item)
        if filename := _text(item.get("Filename")):
            _classify_path(filename, "Details.PEMetadata.Filename", draft, result)
        if original := _text(item.get("OriginalFileName")):
            _classify_original_name(original, draft, result)

    for network in _list(artifacts.get("Network")):
        network = _dict(network)
        for domain in _list(network.get("Domains")):
            _classify_domain(_text(domain), "Artifacts.Network.Domains", draft, result)
        result.unused["Artifacts.Network.Ports"] += len(_list(network.get("Ports")))

    _read_signing_and_hashes(entry, draft, result)
    _read_other(artifacts, draft, result)
    for name in _UNUSED_ARTIFACTS:
        result.unused[f"Artifacts.{name}"] += len(_list(artifacts.get(name)))


def _read_signing_and_hashes(entry: dict[str, Any], draft: _Draft, result: LolrmmImport) -> None:
    for certificate in _list(_dict(entry.get("CodeSigning")).get("certificates")):
        signer = _text(_dict(certificate).get("signer_name"))
        if signer and _usable(signer, "CodeSigning.certificates.signer_name", draft, result):
            draft.add("code_signers", signer)
    for item in _list(_dict(entry.get("FileHashes")).get("authenticode")):
        item = _dict(item)
        if digest := _text(item.get("sha256")):
            _classify_hash(digest, "FileHashes.authenticode.sha256", draft, result)
        if _text(item.get("sha1")):
            result.unused["FileHashes.authenticode.sha1"] += 1


def _read_other(artifacts: dict[str, Any], draft: _Draft, result: LolrmmImport) -> None:
    """Take hashes and Windows service names from `Artifacts.Other`, and count the other types."""
    for item in _list(artifacts.get("Other")):
        item = _dict(item)
        kind, value = _text(item.get("Type")), _text(item.get("Value"))
        if not value:
            continue
        if kind in ("SHA256", "MD5"):
            _classify_hash(value, f"Artifacts.Other.{kind}", draft, result)
        elif kind.casefold() in _SERVICE_TYPES:
            if _usable(value, f"Artifacts.Other.{kind}", draft, result):
                draft.add("services", value)
        else:
            result.unused[f"Artifacts.Other.{kind or 'untyped'}"] += 1


def _skip(result: LolrmmImport, draft: _Draft, label: str, value: str, reason: str) -> None:
    result.skipped_values.append(SkippedValue(draft.name, label, value, reason))


def _classify_hash(value: str, label: str, draft: _Draft, result: LolrmmImport) -> None:
    kind = _HASH_KINDS.get(len(value)) if _HEX.match(value) else None
    if kind in ("md5", "sha256"):
        draft.add(kind, value.lower())
    elif kind == "sha1":
        _skip(
            result, draft, label, value, "a SHA-1 hash, and the catalog stores only SHA-256 and MD5"
        )
    else:
        _skip(result, draft, label, value, "not a hexadecimal MD5 or SHA-256 hash")


def _classify_path(value: str, label: str, draft: _Draft, result: LolrmmImport) -> None:
    """Classify a value from a list that mixes file names, paths, hashes and domains."""
    if not value or not _usable(value, label, draft, result):
        return
    if _HEX.match(value) and len(value) in _HASH_KINDS:
        _classify_hash(value, label, draft, result)
    elif value.startswith(("/", "~")):
        _skip(result, draft, label, value, "a POSIX path, not a Windows one")
    elif "\\" in value or "/" in value:
        _classify_windows_path(value, label, draft, result)
    elif _is_process_name(value):
        _add_executable(value, label, draft, result)
    elif value.casefold().endswith(".com") and winpath.is_valid_domain(value):
        draft.add("domains", value.lower())
    else:
        _skip(result, draft, label, value, "not a Windows program name (.exe or .scr)")


def _is_process_name(name: str) -> bool:
    return name.casefold().endswith(PROCESS_EXTENSIONS)


def _add_executable(name: str, label: str, draft: _Draft, result: LolrmmImport) -> None:
    if _FORBIDDEN_IN_NAMES & set(name):
        _skip(result, draft, label, name, "contains a character that Windows file names cannot")
    elif not name[: -len(".exe")].strip("*?"):
        _skip(result, draft, label, name, "a pattern that matches every program")
    else:
        draft.add("executables", name)


def _classify_windows_path(value: str, label: str, draft: _Draft, result: LolrmmImport) -> None:
    """Split a Windows path into an install path pattern and, for a program, its name."""
    if _FORBIDDEN_IN_PATHS & set(value[2:] if _DRIVE.match(value) else value):
        _skip(result, draft, label, value, "contains a placeholder or a character paths cannot")
        return
    path = PureWindowsPath(value)
    parts = list(path.parts)
    anchor = parts.pop(0) if path.anchor else ""
    components: list[str] = []
    for part in parts:
        if part == "*" or _ENV_VARIABLE.match(part):
            components.append("**")
        elif "%" in part:
            _skip(result, draft, label, value, "a '%' outside a whole %VARIABLE% component")
            return
        else:
            components.append(part)

    name = path.name
    if _is_process_name(name):
        _add_executable(name, label, draft, result)
    elif "." not in name and components and components[-1] != "**":
        # A last component without an extension is a folder, so cover the files below it.
        components.append("**")

    pattern = anchor + "\\".join(components)
    if not winpath.has_literal_folder(pattern):
        reason = "a path pattern with no literal folder, so it can match any folder"
        _skip(result, draft, label, value, reason)
        return
    if not (anchor or components[0] == "**"):
        # A relative path starts anywhere, and catalog patterns are anchored at the root.
        pattern = "**\\" + pattern
    draft.add("install_paths", pattern)


def _classify_original_name(value: str, draft: _Draft, result: LolrmmImport) -> None:
    label = "Details.PEMetadata.OriginalFileName"
    if not _usable(value, label, draft, result):
        return
    if "\\" in value or "/" in value:
        _skip(result, draft, label, value, "a path, not a file name")
    elif _FORBIDDEN_IN_NAMES & set(value):
        _skip(result, draft, label, value, "contains a character that Windows file names cannot")
    elif "." not in value.strip(".") or winpath.is_pattern(value):
        _skip(result, draft, label, value, "not a file name with an extension")
    else:
        draft.add("original_file_names", value)


def _classify_domain(value: str, label: str, draft: _Draft, result: LolrmmImport) -> None:
    if not value or not _usable(value, label, draft, result):
        return
    if winpath.is_valid_domain(value):
        draft.add("domains", value.lower())
    elif "*" in value.removeprefix("*."):
        _skip(
            result,
            draft,
            label,
            value,
            "a wildcard inside a label, but catalog domains allow only a leading '*.'",
        )
    else:
        _skip(result, draft, label, value, "not a DNS name")


def _slug(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")
    return slug[:64].strip("-") or "tool"


def _unique_id(name: str, used: set[str]) -> str:
    base = ID_PREFIX + _slug(name)[: 64 - len(ID_PREFIX)].strip("-")
    candidate, number = base, 2
    while candidate in used:
        suffix = f"-{number}"
        candidate = base[: 64 - len(suffix)].strip("-") + suffix
        number += 1
    return candidate


def _build_tool(draft: _Draft, used_ids: set[str], result: LolrmmImport) -> Tool | None:
    """Build and validate the Tool of a draft; record why when there is none."""
    category = CATEGORIES.get(draft.category)
    if category is None:
        result.skipped_tools.append((draft.name, f"unknown LOLRMM category {draft.category!r}"))
        return None
    if not any(draft.values.values()):
        result.skipped_tools.append((draft.name, "no value that fits the catalog"))
        return None

    values = draft.values
    facts = {
        "executables": values.get("executables", []),
        "original_file_names": values.get("original_file_names", []),
        "hashes": {"sha256": values.get("sha256", []), "md5": values.get("md5", [])},
        "install_paths": values.get("install_paths", []),
        "code_signers": values.get("code_signers", []),
        "domains": values.get("domains", []),
        "services": values.get("services", []),
    }
    covered = [name for name in FACT_FIELDS if _has_values(facts.get(name))]
    document = {
        "id": _unique_id(draft.name, used_ids),
        "name": draft.name,
        # LOLRMM names no vendor, and its signers go to code_signers.
        "vendor": "unknown",
        "category": category.value,
        "description": draft.description or f"{draft.name}, imported from LOLRMM.",
        **facts,
        "techniques": ["T1219"],
        "references": [{"url": _tool_page(draft.name), "covers": covered}],
        "notes": f"Imported from LOLRMM. Vendor site: {draft.website or 'not given'}.",
    }
    try:
        return Tool.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        result.skipped_tools.append((draft.name, f"invalid {where}: {first['msg']}"))
        return None


def _has_values(value: object) -> bool:
    if isinstance(value, dict):
        return any(value.values())
    return bool(value)


def _tool_page(name: str) -> str:
    # The URL form of the built-in catalog's LOLRMM references: the lower-cased name, with
    # spaces as underscores.
    return TOOL_PAGE + name.casefold().replace(" ", "_")
