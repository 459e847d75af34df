"""The catalog's data model: one `Tool` per YAML file, validated with pydantic.

Unknown keys are rejected (`extra="forbid"`), so a misspelt field name fails loudly instead of
silently dropping an indicator. Checks that need the whole catalog, or that are advice rather than
structure (shared names, patterns that cannot match, missing references), live in `lint.py`.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from rmmhunt import winpath
from rmmhunt.report.safety import unsafe_character

__all__ = [
    "CATALOG_SCHEMA_VERSION",
    "DEFAULT_CATEGORIES",
    "FACT_FIELDS",
    "Category",
    "Hashes",
    "Reference",
    "Tool",
    "is_universal_name",
]

# Bumped when a change to the model changes what a catalog file means; part of Catalog.version.
CATALOG_SCHEMA_VERSION = 1

ToolId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=64)]
Technique = Annotated[str, StringConstraints(pattern=r"^T[0-9]{4}(?:\.[0-9]{3})?$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

# Fields that hold facts about a tool, each of which needs a reference that covers it.
FACT_FIELDS = (
    "executables",
    "original_file_names",
    "hashes",
    "install_paths",
    "code_signers",
    "domains",
    "services",
    "drivers",
)


class Category(StrEnum):
    """The kind of remote access a tool gives. The default hunt covers rmm and remote-desktop."""

    RMM = "rmm"
    """Remote monitoring and management agents that manage a fleet (Atera, NinjaOne, Kaseya)."""

    REMOTE_DESKTOP = "remote-desktop"
    """Interactive remote control and remote support (AnyDesk, TeamViewer, ScreenConnect)."""

    REMOTE_ADMIN = "remote-admin"
    """Administration tools that run commands remotely without a desktop (PsExec, PuTTY)."""

    TUNNEL = "tunnel"
    """Tunnels and RDP enablers that expose a host to remote access (ngrok, RDP Wrapper)."""


# Fields of free prose, in which tabs and line breaks are allowed.
_PROSE_FIELDS = frozenset({"description", "notes"})

# Characters that a pattern may hold without naming anything: wildcards and separators.
_NAME_NONLITERAL = frozenset("*?.")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _check_characters(cls, value: object, info: ValidationInfo) -> object:
        """Reject control, bidirectional and invisible characters, which can hide on screen."""
        texts = value if isinstance(value, tuple) else (value,)
        multiline = info.field_name in _PROSE_FIELDS
        for text in texts:
            if not isinstance(text, str):
                continue
            found = unsafe_character(text, multiline=multiline)
            if found is not None:
                raise ValueError(f"contains the control character {found}; remove it")
        return value


# A file extension does not count as literal, because `*.exe` matches every program.
_NAME_IGNORED = r"\.[^.]*$"


def _has_no_literal(value: str, nonliteral: frozenset[str], ignored: str) -> bool:
    core = re.sub(ignored, "", value) if ignored else value
    return all(character in nonliteral for character in core)


def is_universal_name(value: str) -> bool:
    """Tell whether a file name pattern matches every file with its extension, as `*.exe`."""
    return _has_no_literal(value, _NAME_NONLITERAL, _NAME_IGNORED)


def _check_not_universal(
    values: tuple[str, ...], kind: str, nonliteral: frozenset[str], ignored: str = ""
) -> None:
    """Raise ValueError for a pattern with no literal character, which matches everything.

    Args:
        values: the patterns as written.
        kind: what the patterns match, for the message.
        nonliteral: the wildcards and separators, which do not count as literal.
        ignored: a regular expression for parts that do not count either, such as a volume.
    """
    for value in values:
        if _has_no_literal(value, nonliteral, ignored):
            raise ValueError(
                f"{value!r} matches every {kind}; give a literal part, as in AnyDesk*.exe"
            )


class Hashes(_Strict):
    """File hashes of a tool's binaries, as lower- or upper-case hexadecimal text."""

    sha256: tuple[str, ...] = ()
    md5: tuple[str, ...] = ()


class Reference(_Strict):
    """A source for some of a tool's facts."""

    url: Text
    covers: tuple[str, ...] = Field(min_length=1)
    """The `Tool` field names whose values this source gives, for example `executables`."""

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError(f"reference url {value!r} must start with https:// or http://")
        return value

    @field_validator("covers")
    @classmethod
    def _check_covers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in FACT_FIELDS]
        if unknown:
            raise ValueError(
                f"unknown field name(s) {', '.join(unknown)} in covers; "
                f"use any of {', '.join(FACT_FIELDS)}"
            )
        return value


class Tool(_Strict):
    """One remote access tool and the indicators that identify it on Windows.

    Names, patterns and domains are stored as written, and matching case-folds them.
    """

    id: ToolId
    """Slug that equals the file's stem, for example `anydesk` for `anydesk.yaml`."""

    name: Text
    vendor: Text
    category: Category
    description: Text
    aliases: tuple[Text, ...] = ()
    """Other product names the tool is sold or known under."""

    executables: tuple[Text, ...] = ()
    """Process image base names, in which `*` and `?` are wildcards."""

    original_file_names: tuple[Text, ...] = ()
    """PE version-resource `OriginalFileName` values, which survive a renamed binary."""

    hashes: Hashes = Hashes()
    install_paths: tuple[Text, ...] = ()
    """Path patterns of installed files, matched volume-insensitively."""

    code_signers: tuple[Text, ...] = ()
    """Authenticode signer subject names."""

    domains: tuple[Text, ...] = ()
    """DNS names the tool connects to, each of which also matches its subdomains."""

    services: tuple[Text, ...] = ()
    """Windows service names (the service key name or its display name)."""

    drivers: tuple[Text, ...] = ()
    """Kernel driver file names, for example `teamviewervpn.sys`."""

    techniques: tuple[Technique, ...] = Field(min_length=1)
    """MITRE ATT&CK technique IDs, for example T1219.002."""

    shared_with: tuple[ToolId, ...] = ()
    """Tools that legitimately claim some of the same names (a rebrand or a shared code base)."""

    references: tuple[Reference, ...] = ()
    notes: str | None = None

    @field_validator("executables", "original_file_names", "drivers")
    @classmethod
    def _check_name_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _check_not_universal(value, "file name", _NAME_NONLITERAL, ignored=_NAME_IGNORED)
        return value

    @field_validator("install_paths")
    @classmethod
    def _check_path_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            if not winpath.has_literal_folder(pattern):
                raise ValueError(
                    f"{pattern!r} can match a file in any folder once `.` and `..` are "
                    "resolved; name a folder below the volume root, as in "
                    "C:\\Program Files\\AnyDesk\\**"
                )
        return value

    @field_validator("domains")
    @classmethod
    def _check_domain_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _check_not_universal(value, "domain", _NAME_NONLITERAL)
        return value


# The categories the default hunt covers; remote-admin and tunnel tools are opt-in.
DEFAULT_CATEGORIES = (Category.RMM, Category.REMOTE_DESKTOP)
