"""The built-in hunt rendered as XQL selects what the native hunt selects, in its order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rmmhunt.catalog import load_catalog
from rmmhunt.catalog.lookup import Catalog
from rmmhunt.dataset import Dataset
from rmmhunt.errors import CatalogError
from rmmhunt.hunt import HuntOptions, run_hunt
from rmmhunt.hunts.render import render_hunt_xql
from rmmhunt.pipeline import load_inputs
from rmmhunt.schema import SEED_FIELDS, Row
from rmmhunt.xql import parse, run

ROOT = Path(__file__).resolve().parents[1]
SEED_QUERY = ROOT / "tests" / "fixtures" / "xql" / "rmm_execution.xql"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _projected(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{name: alert[name] for name in SEED_FIELDS} for alert in alerts]


def _both(dataset: Dataset, catalog: Catalog, profile: str, categories: frozenset[str]) -> Any:
    native = run_hunt(dataset, catalog, HuntOptions(profile=profile, categories=categories))
    query = render_hunt_xql(catalog, profile, categories)
    rows = run(query, dataset.connection).rows
    return _projected(native), rows


@pytest.fixture(scope="module")
def example_dataset() -> Iterator[Dataset]:
    loaded = load_inputs([str(ROOT / "examples" / "evtx"), str(ROOT / "examples" / "xdr")])
    yield loaded.dataset
    loaded.dataset.close()


@pytest.mark.parametrize("profile", ["default", "seed"])
@pytest.mark.parametrize(
    "categories", [frozenset({"rmm", "remote-desktop"}), frozenset({"all"})], ids=["rmm", "all"]
)
def test_rendered_hunt_equals_native_on_examples(
    example_dataset: Dataset, catalog: Catalog, profile: str, categories: frozenset[str]
) -> None:
    native, rows = _both(example_dataset, catalog, profile, categories)

    assert native, "the example estate must raise alerts for the comparison to mean anything"
    assert rows == native


def test_rendered_hunt_equals_native_on_xdr_fixtures(catalog: Catalog, fixtures: Path) -> None:
    loaded = load_inputs([str(fixtures / "xdr")])
    try:
        for profile in ("default", "seed"):
            native, rows = _both(loaded.dataset, catalog, profile, frozenset({"all"}))
            assert native, f"profile {profile} raised no alert on the XDR fixtures"
            assert rows == native, profile
    finally:
        loaded.dataset.close()


def _event(minute: int, **values: Any) -> Row:
    row: Row = {
        "_time": datetime(2025, 3, 12, 9, minute, tzinfo=UTC),
        "event_id": f"ws01/{minute}",
        "event_type": "PROCESS",
        "event_sub_type": "PROCESS_START",
        "agent_os_type": "AGENT_OS_WINDOWS",
        "agent_hostname": "WS01",
        "source_file": "test.evtx",
        "source_record": str(minute),
    }
    row.update(values)
    return row


def test_rendered_hunt_covers_every_join(tmp_path: Path, fixtures: Path) -> None:
    # A user tool with a `?` pattern, a hash, an original file name and a driver.
    (tmp_path / "odd-agent.yaml").write_text(
        "id: odd-agent\nname: Odd Agent\nvendor: Example Ltd\ncategory: rmm\n"
        "description: A test agent.\nexecutables: ['oddagent?.exe']\n"
        "drivers: [oddvideo.sys]\ntechniques: [T1219]\n",
        encoding="utf-8",
    )
    catalog = load_catalog([fixtures / "catalog" / "override", tmp_path])
    service = {"event_type": "EVENT_LOG", "action_evtlog_event_id": 7045}
    rows = [
        _event(1, action_process_image_name="oddagent7.exe"),
        _event(2, action_process_image_name="oddagent77.exe"),
        _event(
            3,
            action_process_image_name="x.exe",
            action_process_original_file_name="SITEAGENTCORE.EXE",
        ),
        _event(4, action_process_image_name="y.exe", action_process_image_sha256="a" * 64),
        _event(
            5, action_process_image_name="z.exe", action_process_image_md5="0123456789ABCDEF" * 2
        ),
        _event(6, action_process_image_name="oddvideo.sys", **service),
        _event(7, action_process_image_name="oddvideo.sys"),
        _event(8, action_process_image_name="siteagent.exe", agent_os_type="AGENT_OS_LINUX"),
        _event(9, action_process_image_name="siteagent.exe", **service),
    ]
    dataset = Dataset()
    dataset.add_all(rows)
    dataset.finalise()
    try:
        native, found = _both(dataset, catalog, "default", frozenset({"rmm"}))
    finally:
        dataset.close()

    assert [row["event_id"] for row in found] == [
        "ws01/9",
        "ws01/6",
        "ws01/5",
        "ws01/4",
        "ws01/3",
        "ws01/1",
    ]
    assert found == native


def test_rendered_seed_query_equals_verbatim_seed(catalog: Catalog) -> None:
    rendered = parse(render_hunt_xql(catalog, "seed"))
    verbatim = parse(SEED_QUERY.read_text(encoding="utf-8"))

    assert rendered.to_xql() == verbatim.to_xql()


def test_rendered_seed_ignores_categories(catalog: Catalog) -> None:
    assert render_hunt_xql(catalog, "seed", ["tunnel"]) == render_hunt_xql(catalog, "seed")


def test_rendered_hunt_follows_catalog_override(catalog: Catalog, fixtures: Path) -> None:
    overridden = load_catalog([fixtures / "catalog" / "override"])

    assert '"siteagent.exe"' not in render_hunt_xql(catalog, "default", ["rmm"])
    assert '"siteagent.exe"' in render_hunt_xql(overridden, "default", ["rmm"])


def test_render_rejects_unknown_profile(catalog: Catalog) -> None:
    with pytest.raises(CatalogError, match="unknown hunt profile 'loud'"):
        render_hunt_xql(catalog, "loud")


def test_render_rejects_unknown_category(catalog: Catalog) -> None:
    with pytest.raises(CatalogError, match="unknown tool categories \\['vpn'\\]"):
        render_hunt_xql(catalog, "default", ["vpn"])


def test_rendered_hunt_equals_native_on_real_evtx(catalog: Catalog, shared_data: Path) -> None:
    loaded = load_inputs([str(shared_data / "evtx")])
    try:
        native, rows = _both(loaded.dataset, catalog, "default", frozenset({"all"}))
    finally:
        loaded.dataset.close()

    assert len(native) >= 10, "the public EVTX logs hold PsExec, PuTTY and TeamViewer starts"
    assert rows == native
