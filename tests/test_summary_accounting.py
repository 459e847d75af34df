"""Summary accounting: input formats, event kinds and warnings for skipped records."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

from rmmhunt.pipeline import load_inputs

FIXTURES = Path(__file__).resolve().parent / "fixtures"
OTRF_SYSMON = FIXTURES / "flatjson" / "golden_sysmon1_otrf.jsonl"
XDR_ROWS = FIXTURES / "xdr" / "rows.ndjson"


def test_inputs_name_their_format(tmp_path: Path) -> None:
    shutil.copy(XDR_ROWS, tmp_path / "rows.ndjson")
    with zipfile.ZipFile(tmp_path / "mixed.zip", "w") as archive:
        archive.write(XDR_ROWS, "rows.ndjson")
        archive.write(OTRF_SYSMON, "otrf.jsonl")

    loaded = load_inputs([str(tmp_path)])
    loaded.dataset.close()

    formats = {Path(record.path).name: record.format for record in loaded.discovery.inputs}
    assert formats == {"mixed.zip": "flat-json, xdr-ndjson", "rows.ndjson": "xdr-ndjson"}


def test_missing_required_field_is_located(tmp_path: Path) -> None:
    event = json.loads(OTRF_SYSMON.read_text().splitlines()[0])
    del event["Image"]
    del event["CommandLine"]
    source = tmp_path / "sysmon.jsonl"
    source.write_text(json.dumps(event) + "\n")

    loaded = load_inputs([str(source)])
    loaded.dataset.close()

    assert loaded.stats.skipped["missing_required_field"] == 1
    [warning] = loaded.stats.warnings
    assert warning.startswith(f"{source}: ")
    assert "event 1 (line 1)" in warning
