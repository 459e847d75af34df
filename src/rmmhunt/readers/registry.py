"""The readers in detection order: the first reader whose detect() accepts a file reads it."""

from __future__ import annotations

from rmmhunt.readers.base import Reader


def all_readers() -> list[Reader]:
    """Return one instance of every reader, most specific format first."""
    # Imports are local so that one reader's optional dependency never breaks the others.
    from rmmhunt.readers.crowdstrike import CrowdStrikeReader
    from rmmhunt.readers.defender import DefenderReader
    from rmmhunt.readers.eventlogtext import event_log_text_readers
    from rmmhunt.readers.evtx import EvtxReader
    from rmmhunt.readers.ocsf import OcsfReader
    from rmmhunt.readers.xdr import xdr_readers

    readers: list[Reader] = [EvtxReader(), DefenderReader(), CrowdStrikeReader(), OcsfReader()]
    readers.extend(xdr_readers())
    readers.extend(event_log_text_readers())
    return readers
