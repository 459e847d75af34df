"""Windows path, name and domain matching, with the same results on every OS.

Telemetry paths come in many spellings of one file: `C:\\Program Files\\X\\a.exe`,
`"c:/program files/x/A.EXE"`, `\\\\?\\C:\\Program Files\\X\\a.exe` and
`\\Device\\HarddiskVolume3\\Program Files\\X\\a.exe`. Every comparison here goes through
`normalise_path`, which folds these spellings onto one form, and `strip_volume`, which drops the
volume so that a path matches with or without it. `path_matches` also compares drive letters when
both sides give one. The functions only compare strings: they never touch the file system, so
callers can pass attacker-controlled text safely.

Catalog and inventory patterns use two wildcards only. `*` matches any run of characters inside
one path component, `?` matches one such character, and `**` matches across `\\`. Every other
character, including `[`, `]` and `\\`, is literal, which is why `fnmatch` (where `[...]` is a
character class) is not used.
"""

from __future__ import annotations

import ntpath
import re
from functools import lru_cache

from rmmhunt.normalise import strip_quotes

__all__ = [
    "basename",
    "compile_name_pattern",
    "compile_pattern",
    "domain_matches",
    "drive_letter",
    "has_literal_folder",
    "is_pattern",
    "is_valid_domain",
    "name_matches",
    "normalise_domain",
    "normalise_path",
    "path_matches",
    "strip_volume",
    "with_folder_wildcard",
]

# Win32 file namespace (`\\?\`), device namespace (`\\.\`) and the NT object manager's
# `\??\` prefix, after `/` has become `\`. `\\?\UNC\server\share` is the long form of a UNC path.
_LONG_UNC_PREFIX = "\\\\?\\unc\\"
_NAMESPACE_PREFIXES = ("\\\\?\\", "\\\\.\\", "\\??\\")
_DRIVE = re.compile(r"^[a-z]:")
_DRIVE_ROOT = re.compile(r"^[a-z]:(?=\\|$)")
_NT_VOLUME = re.compile(r"^\\device\\harddiskvolume[0-9]+(?=\\|$)")
_REPEATED_SEPARATORS = re.compile(r"\\{2,}")
_WILDCARDS = frozenset("*?")

# RFC 1123 host name label: letters, digits and inner hyphens, at most 63 characters.
# Underscores are accepted because real DNS names (SRV records, some CDNs) use them.
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def normalise_path(path: str) -> str:
    """Normalise a Windows path for comparison.

    Strips surrounding quotes and white space, turns `/` into `\\`, case-folds, removes the
    `\\\\?\\`, `\\\\.\\` and `\\??\\` namespace prefixes, collapses repeated separators (keeping
    the leading pair of a UNC path), resolves `.` and `..` segments and drops a trailing
    separator. A `\\Device\\HarddiskVolumeN` volume is kept, and `strip_volume` removes it.
    Display code keeps the original text.

    Resolving `..` keeps `C:\\Program Files\\X\\..\\..\\Users\\a.exe` out of a pattern for
    `C:\\Program Files\\X\\**`. Win32 passes a `\\\\?\\` path on without resolving it, but it
    is resolved here too, so that no spelling of a path matches more than its resolved form.

    Args:
        path: a path as written in telemetry, a catalog or an inventory.

    Returns:
        The normalised path, or an empty string for an empty or blank input.
    """
    text = strip_quotes(path).replace("/", "\\").casefold()

    is_unc = False
    if text.startswith(_LONG_UNC_PREFIX):
        text = "\\\\" + text[len(_LONG_UNC_PREFIX) :]
        is_unc = True
    else:
        for prefix in _NAMESPACE_PREFIXES:
            if text.startswith(prefix):
                text = text[len(prefix) :]
                break
        else:
            is_unc = text.startswith("\\\\")

    text = _REPEATED_SEPARATORS.sub(r"\\", text)
    if is_unc:
        text = "\\" + text
    text = _resolve_dot_segments(text)

    # `C:\` keeps its separator because `C:` alone means the current directory on drive C.
    if len(text) > 1 and text.endswith("\\") and not re.fullmatch(r"[a-z]:\\", text):
        text = text.rstrip("\\")
    return text


def _root_length(text: str) -> int | None:
    """Return the length of a normalised path's root, or None for a relative path.

    The root is `\\\\server\\share`, `\\device\\harddiskvolumeN`, `c:` or a leading `\\`. A
    relative path (`a\\b`, or `c:a`, which is relative to drive C's current directory) has none.
    """
    if text.startswith("\\\\"):
        server_and_share = text[2:].split("\\", 2)[:2]
        return 2 + len("\\".join(server_and_share))
    volume = _NT_VOLUME.match(text) or _DRIVE_ROOT.match(text)
    if volume:
        return volume.end()
    if text.startswith("\\"):
        return 0
    return None


def _resolve_dot_segments(text: str) -> str:
    """Remove `.` segments and let each `..` remove the segment before it, as Windows does.

    Win32 resolves these (`GetFullPathNameW`) before a file is opened, so
    `c:\\app\\..\\..\\users\\x.exe` is `c:\\users\\x.exe`: a `..` at the root stays at the root.
    A relative path keeps the leading `..` segments that it cannot resolve.
    """
    root_length = _root_length(text)
    root = text[:root_length] if root_length is not None else ""
    rest = text[len(root) :]
    if not rest.strip("\\"):
        return text

    segments: list[str] = []
    for segment in rest.split("\\"):
        if segment in ("", "."):
            continue
        if segment != "..":
            segments.append(segment)
        elif segments and segments[-1] != "..":
            segments.pop()
        elif root_length is None:
            segments.append(segment)

    resolved = "\\".join(segments)
    if root_length is None:
        return resolved
    return f"{root}\\{resolved}"


def strip_volume(path: str) -> str:
    """Normalise a path and remove its volume, so that it compares on the rest of the path.

    Removes a drive letter (`C:`) and an NT device volume (`\\Device\\HarddiskVolume3`), after
    `normalise_path` has removed any `\\\\?\\` prefix. UNC paths (`\\\\server\\share\\...`) keep
    their server and share, because a share is not interchangeable with a local volume.

    Args:
        path: a path in any spelling that `normalise_path` accepts.

    Returns:
        The normalised path without its volume. It starts with `\\` when the input was absolute.
    """
    text = normalise_path(path)
    if text.startswith("\\\\"):
        return text

    # NOTE: a device volume is not mapped to its drive letter, so `\Device\HarddiskVolume3\x`
    # and `D:\x` compare equal even when volume 3 is drive C.
    volume = _DRIVE.match(text) or _NT_VOLUME.match(text)
    if volume:
        text = text[volume.end() :] or "\\"
    return text


def drive_letter(path: str) -> str | None:
    """Return the case-folded drive letter of a path (`C:\\x`, `\\\\?\\C:\\x`), or None.

    An NT device volume (`\\Device\\HarddiskVolume3`) gives None, because its letter is unknown.
    """
    text = normalise_path(path)
    return text[0] if _DRIVE.match(text) else None


def has_literal_folder(pattern: str) -> bool:
    """Tell whether a path pattern names at least one folder below the volume root literally.

    The check runs on the resolved pattern, so `C:\\Program Files\\X\\..\\..\\**`, which is
    `C:\\**`, has none. A folder is literal when it contains no `*` or `?` and is not `..`, so
    `**\\*.exe`, `\\*\\*\\*.exe` and `**\\AnyDesk.exe` have none either, and each can match
    a file in any folder. A pattern without wildcards names one file and counts as literal.

    Args:
        pattern: an install path or inventory path pattern as written.
    """
    text = strip_volume(pattern)
    if not is_pattern(text):
        return bool(text.strip("\\"))
    folders = text.split("\\")[:-1]
    return any(folder and folder != ".." and not is_pattern(folder) for folder in folders)


def with_folder_wildcard(pattern: str) -> str:
    """Append `\\**` to a pattern that names a folder, so that it covers the files below it.

    A pattern names a folder when its last component has no `*`, `?` or `.`, as in
    `C:\\Program Files\\TeamViewer`, the form that asset exports write. Every other pattern is
    returned unchanged. A file without an extension therefore cannot be named on its own.

    Args:
        pattern: an inventory path pattern as written.
    """
    text = normalise_path(pattern)
    last = text.rsplit("\\", 1)[-1]
    # NOTE: a folder with a `.` in its name (`C:\Tools\App 1.2`) is read as a file.
    if not text or is_pattern(last) or "." in last:
        return pattern
    return pattern.rstrip().rstrip("\\/") + "\\**"


def basename(path: str) -> str:
    """Return the case-folded Windows base name of a path (`C:\\X\\AnyDesk.exe` -> `anydesk.exe`).

    The base name is the text after the last `\\` or `/`, so `ccmrd.exe` never equals `rd.exe`.
    """
    return ntpath.basename(normalise_path(path))


def is_pattern(text: str) -> bool:
    """Return whether a catalog value contains a `*` or `?` wildcard."""
    return any(character in _WILDCARDS for character in text)


def text_glob_regex(pattern: str) -> str:
    """Translate a `*`/`?` text pattern into a regular expression body.

    Unlike a path pattern, `*` here also matches `\\`, as in a user pattern `*\\helpdesk`.
    Every other character, `[` and `]` included, is literal.
    """
    parts: list[str] = []
    for character in pattern:
        if character == "*":
            parts.append(".*")
        elif character == "?":
            parts.append(".")
        else:
            parts.append(re.escape(character))
    return "".join(parts)


def _pattern_regex(pattern: str) -> str:
    """Translate a normalised pattern into a regular expression body."""
    parts: list[str] = []
    index = 0
    while index < len(pattern):
        character = pattern[index]
        if pattern.startswith("**\\", index):
            # `**\` matches zero or more whole directories, so `\a\**\b` also matches `\a\b`.
            parts.append(r"(?:.*\\)?")
            index += 3
        elif pattern.startswith("**", index):
            parts.append(".*")
            index += 2
        elif character == "*":
            parts.append(r"[^\\]*")
            index += 1
        elif character == "?":
            parts.append(r"[^\\]")
            index += 1
        else:
            parts.append(re.escape(character))
            index += 1
    return "".join(parts)


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a path pattern into a case-insensitive regular expression.

    The pattern is normalised and volume-stripped as paths are, so `C:\\Program Files\\X\\*`
    matches the same files on every volume. Patterns are anchored at the volume root, and a
    relative pattern is treated as starting there: write `**\\X\\a.exe` to match at any depth.

    Args:
        pattern: a path pattern using `*`, `**` and `?`.

    Returns:
        A compiled expression to use with `fullmatch` on `strip_volume(path)`.
    """
    text = strip_volume(pattern)
    if text and not text.startswith("\\") and not text.startswith("**"):
        text = "\\" + text
    return re.compile(_pattern_regex(text), re.IGNORECASE)


@lru_cache(maxsize=4096)
def compile_name_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a file name pattern (`rustdesk*.exe`) into a case-insensitive regular expression.

    Use it with `fullmatch` on `basename(path)`. A `*` cannot match a `\\`, so a name pattern
    never matches a directory part.
    """
    text = strip_quotes(pattern).casefold()
    return re.compile(_pattern_regex(text), re.IGNORECASE)


@lru_cache(maxsize=4096)
def _pattern_drive(pattern: str) -> str | None:
    return drive_letter(pattern)


def path_matches(pattern: str, path: str) -> bool:
    """Return whether a path matches a path pattern, ignoring case and spelling.

    The rest of the path after the volume is compared, so a side without a volume, or with an NT
    device volume whose letter is unknown, matches any volume. When both sides give a drive
    letter, the letters must be equal, so `D:\\Program Files\\X\\a.exe` does not match
    `C:\\Program Files\\X\\**`.
    """
    if not path.strip():
        return False
    pattern_drive = _pattern_drive(pattern)
    if pattern_drive is not None:
        path_drive = drive_letter(path)
        if path_drive is not None and path_drive != pattern_drive:
            return False
    return compile_pattern(pattern).fullmatch(strip_volume(path)) is not None


def name_matches(pattern: str, name: str) -> bool:
    """Return whether the base name of `name` matches a file name pattern, ignoring case.

    `name` may be a bare name or a full path, and only its base name is compared.
    """
    candidate = basename(name)
    if not candidate:
        return False
    return compile_name_pattern(pattern).fullmatch(candidate) is not None


def normalise_domain(host: str) -> str:
    """Case-fold a DNS name and remove surrounding white space and the root's trailing dot."""
    return host.strip().casefold().rstrip(".")


def is_valid_domain(domain: str) -> bool:
    """Return whether a catalog domain is a DNS name, optionally written as `*.example.com`.

    An IP address, a URL, or a name with a single label is invalid.
    """
    text = normalise_domain(domain)
    if text.startswith("*."):
        text = text[2:]
    labels = text.split(".")
    if len(labels) < 2 or len(text) > 253:
        return False
    if labels[-1].isdigit():
        return False
    return all(_DOMAIN_LABEL.match(label) for label in labels)


def domain_matches(domain: str, host: str) -> bool:
    """Return whether a host name is the domain or one of its subdomains, on a label boundary.

    `anydesk.com` matches `anydesk.com`, `relay-1.net.anydesk.com` and `ANYDESK.COM.`, but not
    `notanydesk.com` or `anydesk.com.example`. The wildcard form `*.anydesk.com` matches the
    subdomains only, not `anydesk.com` itself.

    Args:
        domain: the catalog's domain, optionally starting with `*.`.
        host: a host or query name from telemetry.
    """
    parent = normalise_domain(domain)
    candidate = normalise_domain(host)
    if not parent or not candidate:
        return False

    if parent.startswith("*."):
        return candidate.endswith(parent[1:]) and len(candidate) > len(parent) - 1
    return candidate == parent or candidate.endswith("." + parent)
