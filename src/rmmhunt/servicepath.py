"""Parse a Windows service's image path into its executable and arguments.

The Service Control Manager starts a service by handing its image path to CreateProcess as a command
line. A quoted executable ends at the closing quote. An unquoted path with spaces is resolved by
trying each space-separated prefix in turn, so `C:\\Program Files\\AnyDesk\\AnyDesk.exe --service`
runs `C:\\Program Files\\AnyDesk\\AnyDesk.exe`. Drivers use kernel forms such as
`\\SystemRoot\\System32\\drivers\\x.sys`, `\\??\\C:\\x.sys` or `system32\\drivers\\x.sys`.
Sources: Microsoft's CreateProcessW documentation (lpCommandLine and the unquoted-path search) and
the `ImagePath` value of `HKLM\\SYSTEM\\CurrentControlSet\\Services\\<name>`.
"""

from __future__ import annotations

import ntpath
import re
from dataclasses import dataclass
from typing import Final

# Extensions that end an executable in an unquoted path with spaces.
EXECUTABLE_EXTENSIONS: Final = (".exe", ".sys", ".com", ".bat", ".cmd", ".dll")

# Default expansions of the variables that service image paths use. Real hosts may differ.
DEFAULT_VARIABLES: Final[dict[str, str]] = {
    "systemroot": "C:\\Windows",
    "windir": "C:\\Windows",
    "systemdrive": "C:",
    "programfiles": "C:\\Program Files",
    "programfiles(x86)": "C:\\Program Files (x86)",
    "programw6432": "C:\\Program Files",
    "commonprogramfiles": "C:\\Program Files\\Common Files",
    "commonprogramfiles(x86)": "C:\\Program Files (x86)\\Common Files",
    "programdata": "C:\\ProgramData",
    "allusersprofile": "C:\\ProgramData",
    "comspec": "C:\\Windows\\System32\\cmd.exe",
}

_VARIABLE: Final = re.compile(r"%([^%\s]+)%")
_SHELL_OPERATORS: Final = frozenset("&|<>^")


@dataclass(frozen=True)
class ServiceImage:
    """A service image path split as Windows splits it.

    Attributes:
        executable: the executable as written, without quotes and without expanding variables.
        name: the Windows base name of the executable after default expansion, or None if empty.
        arguments: the text after the executable, stripped ("" when there is none).
    """

    executable: str
    name: str | None
    arguments: str


def parse_service_image_path(image_path: str) -> ServiceImage:
    """Split a service image path into executable, base name and arguments.

    Args:
        image_path: the `ImagePath` (System 7045) or `ServiceFileName` (Security 4697) value.

    Returns:
        The parsed image. An empty path gives an empty executable and a None name.
    """
    text = image_path.strip()
    if not text:
        return ServiceImage(executable="", name=None, arguments="")

    if text[0] == '"':
        closing = text.find('"', 1)
        if closing < 0:
            executable, arguments = text[1:], ""
        else:
            executable, arguments = text[1:closing], text[closing + 1 :]
    else:
        executable, arguments = _split_unquoted(text)

    executable = executable.strip()
    return ServiceImage(
        executable=executable,
        name=_base_name(expanded_path(executable)),
        arguments=arguments.strip(),
    )


def _split_unquoted(text: str) -> tuple[str, str]:
    """Take the shortest space-separated prefix that ends in an executable extension.

    CreateProcess would try each prefix against the file system. Without one, the first prefix that
    names an executable is the best guess. Expansion stops at a token that starts a switch (`/x`,
    `-x`) or contains a shell operator, because no path goes on past those.
    """
    tokens = list(re.finditer(r"\S+", text))
    for token in tokens:
        word = token.group()
        if token.start() > 0 and (word[0] in "/-" or _SHELL_OPERATORS.intersection(word)):
            break
        if word.casefold().endswith(EXECUTABLE_EXTENSIONS):
            return text[: token.end()], text[token.end() :]

    first = tokens[0]
    return text[: first.end()], text[first.end() :]


def expanded_path(path: str) -> str:
    """Expand the usual variables and kernel prefixes of a service path to a Win32 path.

    `%SystemRoot%`, `%windir%`, `%ProgramFiles%` and the other names in DEFAULT_VARIABLES take their
    default values, and unknown variables stay as written. `\\SystemRoot\\` becomes `C:\\Windows\\`,
    `\\??\\` is removed, and a path relative to `System32\\` is put under `C:\\Windows`.
    """

    def replace(match: re.Match[str]) -> str:
        return DEFAULT_VARIABLES.get(match.group(1).casefold(), match.group(0))

    result = _VARIABLE.sub(replace, path)
    folded = result.casefold()
    if folded.startswith("\\systemroot\\"):
        result = "C:\\Windows\\" + result[len("\\systemroot\\") :]
    elif folded.startswith("\\??\\"):
        result = result[len("\\??\\") :]
    elif folded.startswith("system32\\") or folded.startswith("syswow64\\"):
        result = "C:\\Windows\\" + result
    return result


def _base_name(path: str) -> str | None:
    name = ntpath.basename(path.rstrip("\\/"))
    return name or None
