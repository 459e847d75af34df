"""Classify an image path by who can write to it.

An RMM tool that IT deploys runs from its vendor's folder under Program Files, which only
administrators can write. A tool that a user or an intruder dropped runs from a folder that any
user can write: Downloads, the Desktop, a Temp folder, AppData, the Public profile, the root of
ProgramData, the Recycle Bin or PerfLogs. Paths compare after `winpath.strip_volume`, so case,
`/` versus `\\`, `\\\\?\\` and `\\Device\\HarddiskVolumeN\\` do not matter.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

from rmmhunt import winpath


class PathClass(StrEnum):
    """The class of folder an image is in, by who can write to that folder."""

    DOWNLOADS = "downloads"
    DESKTOP = "desktop"
    TEMP = "temp"
    APPDATA = "appdata"
    PUBLIC = "public"
    PROGRAMDATA_ROOT = "programdata_root"
    PROGRAMDATA = "programdata"
    RECYCLE_BIN = "recycle_bin"
    PERFLOGS = "perflogs"
    USER_PROFILE = "user_profile"
    NETWORK_SHARE = "network_share"
    PROGRAM_FILES = "program_files"
    WINDOWS = "windows"
    OTHER = "other"


# Folders that any local user can write to, in the order they are tested: the first match wins,
# so `\Users\x\AppData\Local\Temp\` is TEMP, not APPDATA.
_RULES: Final[tuple[tuple[PathClass, re.Pattern[str]], ...]] = (
    (PathClass.TEMP, re.compile(r"^\\(?:users\\[^\\]+\\appdata\\local\\temp|windows\\temp)\\")),
    (PathClass.PUBLIC, re.compile(r"^\\users\\public\\")),
    (PathClass.DOWNLOADS, re.compile(r"^\\users\\[^\\]+\\downloads\\")),
    (PathClass.DESKTOP, re.compile(r"^\\users\\[^\\]+\\(?:onedrive[^\\]*\\)?desktop\\")),
    (PathClass.APPDATA, re.compile(r"^\\users\\[^\\]+\\appdata\\")),
    (PathClass.USER_PROFILE, re.compile(r"^\\users\\[^\\]+\\")),
    (PathClass.RECYCLE_BIN, re.compile(r"^\\\$recycle\.bin\\")),
    (PathClass.PERFLOGS, re.compile(r"^\\perflogs\\")),
    (PathClass.PROGRAMDATA_ROOT, re.compile(r"^\\programdata\\[^\\]+$")),
    (PathClass.PROGRAMDATA, re.compile(r"^\\programdata\\")),
    (PathClass.PROGRAM_FILES, re.compile(r"^\\program files(?: \(x86\))?\\")),
    (PathClass.WINDOWS, re.compile(r"^\\windows\\")),
    (PathClass.NETWORK_SHARE, re.compile(r"^\\\\")),
)

# A Windows 7 and earlier `Documents and Settings` profile reads like `\Users`.
_OLD_PROFILES: Final = re.compile(r"^\\documents and settings\\")
_OLD_TEMP: Final = re.compile(r"^\\users\\[^\\]+\\local settings\\temp\\")

# Classes that count against a tool: any user, or any process, can write there.
USER_WRITABLE: Final = frozenset(
    {
        PathClass.DOWNLOADS,
        PathClass.DESKTOP,
        PathClass.TEMP,
        PathClass.APPDATA,
        PathClass.PUBLIC,
        PathClass.PROGRAMDATA_ROOT,
        PathClass.RECYCLE_BIN,
        PathClass.PERFLOGS,
        PathClass.USER_PROFILE,
    }
)


def classify_path(path: str | None) -> PathClass | None:
    """Return the class of an image path, or None when no path is recorded."""
    if path is None or not path.strip():
        return None
    text = winpath.strip_volume(path)
    text = _OLD_PROFILES.sub(r"\\users\\", text)
    if _OLD_TEMP.match(text):
        return PathClass.TEMP

    for path_class, rule in _RULES:
        if rule.match(text):
            return path_class
    return PathClass.OTHER
