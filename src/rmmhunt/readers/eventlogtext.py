"""The readers of Windows event-log text exports, in the order their detection needs."""

from __future__ import annotations

from rmmhunt.readers.base import Reader


def event_log_text_readers() -> list[Reader]:
    """Return the XML, evtx_dump, Get-WinEvent, Splunk, Elastic and flat JSON readers.

    Splunk and Elastic exports are checked before flat JSON because a wrapped event may also
    carry flat `EventID` and `Channel` keys.
    """
    from rmmhunt.readers.ecs import EcsJsonReader
    from rmmhunt.readers.evtxjson import EvtxJsonReader, GetWinEventJsonReader
    from rmmhunt.readers.flatjson import FlatJsonReader
    from rmmhunt.readers.splunk import SplunkJsonReader
    from rmmhunt.readers.winxml import WindowsXmlReader

    return [
        WindowsXmlReader(),
        EvtxJsonReader(),
        GetWinEventJsonReader(),
        SplunkJsonReader(),
        EcsJsonReader(),
        FlatJsonReader(),
    ]
