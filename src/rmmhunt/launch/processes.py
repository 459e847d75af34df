"""Classify a process that started an RMM tool, by the role its image plays on Windows.

The classes are the launch contexts that tell an analyst how a tool was started: from an email
client, a browser, Office, a script host or LOLBin, a remote session, an installer, the service
control manager or Explorer. A process whose name is not listed gets no class.

Names are compared as case-folded Windows base names. `services.exe`, `explorer.exe` and the
Windows installers count only when their path is in the Windows directory, or when no path is
recorded, because a copy of `services.exe` under `C:\\Users` is not the service control manager.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from rmmhunt import winpath


class ProcessClass(StrEnum):
    """The launch role of a parent or ancestor process."""

    EMAIL_CLIENT = "email_client"
    BROWSER = "browser"
    OFFICE = "office"
    SCRIPT_HOST = "script_host"
    REMOTE_SESSION = "remote_session"
    INSTALLER = "installer"
    SERVICE_CONTROL_MANAGER = "service_control_manager"
    EXPLORER = "explorer"


_NAMES: Final[dict[ProcessClass, frozenset[str]]] = {
    ProcessClass.EMAIL_CLIENT: frozenset(
        {"outlook.exe", "olk.exe", "hxoutlook.exe", "thunderbird.exe", "winmail.exe"}
    ),
    ProcessClass.BROWSER: frozenset(
        {
            "chrome.exe",
            "msedge.exe",
            "firefox.exe",
            "iexplore.exe",
            "brave.exe",
            "opera.exe",
            "vivaldi.exe",
            "browser_broker.exe",
        }
    ),
    ProcessClass.OFFICE: frozenset(
        {
            "winword.exe",
            "excel.exe",
            "powerpnt.exe",
            "msaccess.exe",
            "mspub.exe",
            "onenote.exe",
            "visio.exe",
            "eqnedt32.exe",
        }
    ),
    # Script hosts, and Windows binaries that run code they are given (LOLBins, as the LOLBAS
    # project lists them: https://lolbas-project.github.io/).
    ProcessClass.SCRIPT_HOST: frozenset(
        {
            "powershell.exe",
            "pwsh.exe",
            "powershell_ise.exe",
            "cmd.exe",
            "wscript.exe",
            "cscript.exe",
            "mshta.exe",
            "rundll32.exe",
            "regsvr32.exe",
            "certutil.exe",
            "bitsadmin.exe",
            "msbuild.exe",
            "installutil.exe",
            "wmic.exe",
            "forfiles.exe",
            "hh.exe",
            "cmstp.exe",
            "curl.exe",
        }
    ),
    # WinRM's plug-in host, the WMI provider host, the PsExec service and the RemoteApp shell
    # start processes on behalf of a remote user.
    ProcessClass.REMOTE_SESSION: frozenset(
        {
            "wsmprovhost.exe",
            "winrshost.exe",
            "wmiprvse.exe",
            "psexesvc.exe",
            "rdpinit.exe",
            "rdpshell.exe",
        }
    ),
    ProcessClass.INSTALLER: frozenset(
        {"msiexec.exe", "trustedinstaller.exe", "tiworker.exe", "ccmexec.exe", "ccmsetup.exe"}
    ),
    ProcessClass.SERVICE_CONTROL_MANAGER: frozenset({"services.exe"}),
    ProcessClass.EXPLORER: frozenset({"explorer.exe"}),
}

# Windows binaries whose class lowers a score. A copy of one of them outside the Windows
# directory is a look-alike, so it gets no class rather than a trusted one.
_WINDOWS_ONLY_NAMES: Final = frozenset(
    {"services.exe", "explorer.exe", "msiexec.exe", "trustedinstaller.exe", "tiworker.exe"}
)
_WINDOWS_DIRECTORIES: Final = ("\\windows\\", "\\systemroot\\")

_BY_NAME: Final[dict[str, ProcessClass]] = {
    name: process_class for process_class, names in _NAMES.items() for name in names
}


def classify_process(image_name: str | None, image_path: str | None = None) -> ProcessClass | None:
    """Return the launch role of a process, or None when its name is not listed.

    Args:
        image_name: the image's file name; the base name of `image_path` when this is missing.
        image_path: the image's full path, when recorded; used to reject look-alike copies of
            Windows binaries outside the Windows directory.
    """
    name = winpath.basename(image_name or image_path or "")
    process_class = _BY_NAME.get(name)
    if process_class is None or not image_path:
        return process_class

    in_windows = winpath.strip_volume(image_path).startswith(_WINDOWS_DIRECTORIES)
    if name in _WINDOWS_ONLY_NAMES and not in_windows:
        return None
    return process_class
