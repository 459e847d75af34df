"""The image names of the original XQL hunt, kept verbatim for `--profile seed`.

The list is reproduced as the original query wrote it, mistakes included, so that `--profile seed`
returns what that query returns. The catalog corrects them: `client.screenconnect.com` is a domain
and not an image name, ScreenConnect's agent runs as `ScreenConnect.ClientService.exe`, Splashtop's
as `SRService.exe`, Syncro's as `Syncro.Service.exe` and OptiTune's as `OTService.exe`.
"""

from __future__ import annotations

__all__ = ["SEED_NAMES"]

SEED_NAMES: tuple[str, ...] = (
    "anydesk.exe",
    "screenconnect.exe",
    "client.screenconnect.com",
    "optitune.exe",
    "syncrormm.exe",
    "splashtop.exe",
    "splashtopstreamer.exe",
)
