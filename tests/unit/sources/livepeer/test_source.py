"""The Livepeer source over a fake Studio: paging, de-duplication, invalid records, the
snapshot it builds, and its spec. The HTTP side (request, cursors, errors) is in
test_client.py."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from structlog.testing import capture_logs

from exporter.config.settings import Settings
from exporter.errors import UpstreamError
from exporter.sources.livepeer import SPEC
from exporter.sources.livepeer.settings import LivepeerSettings
from exporter.sources.livepeer.source import LivepeerSource
from exporter.sources.registry import SOURCES
from tests.unit.sources.livepeer.fake_studio import (
    INTERNAL,
    NOW,
    PROJECT,
    SETTINGS,
    FakeStudio,
    fixture_bytes,
    fixture_items,
    ids,
    rig,
    wire,
)

pytestmark = pytest.mark.anyio


async def test_a_full_last_page_costs_one_empty_request() -> None:
    """A last page that is exactly full is followed by one request that returns []."""
    studio = FakeStudio([wire(f"s{i}") for i in range(4)])
    async with rig(studio, page_size=2) as r:
        snap = await r.source.poll()
    assert len(studio.requests) == 3
    assert snap.sessions == 4


async def test_max_pages_bounds_the_requests_of_a_poll() -> None:
    """At most max-pages requests are made, and reaching the limit is logged."""
    studio = FakeStudio([wire(f"s{i}", last_seen_ago=i) for i in range(10)])
    with capture_logs() as logs:
        async with rig(studio, page_size=2, max_pages=3) as r:
            snap = await r.source.poll()
    assert len(studio.requests) == 3
    assert ids(snap.active) == ["s0", "s1", "s2", "s3", "s4", "s5"]
    (entry,) = (e for e in logs if e["event"] == "livepeer_page_limit_reached")
    assert entry["max_pages"] == 3


async def test_an_empty_page_ends_paging_even_with_a_link() -> None:
    """A page of [] stops the poll even if it still announces a next page."""
    link = {"link": f'<{INTERNAL}/session?cursor=skip9>; rel="next"'}
    studio = FakeStudio(script=[httpx.Response(200, json=[], headers=link)])
    async with rig(studio) as r:
        snap = await r.source.poll()
    assert (len(studio.requests), snap.sessions) == (1, 0)


async def test_duplicates_across_pages_are_dropped_and_counted() -> None:
    """A session repeated by offset paging is kept once, its newest copy, and counted."""
    first = [wire("a", last_seen_ago=1), wire("b", last_seen_ago=2)]
    second = [wire("b", last_seen_ago=1, ingestRate=99), wire("a", last_seen_ago=5)]
    link = {"link": f'<{INTERNAL}/session?limit=2&cursor=skip2>; rel="next"'}
    studio = FakeStudio(
        script=[httpx.Response(200, json=first, headers=link), httpx.Response(200, json=second)]
    )
    async with rig(studio, page_size=2) as r:
        snap = await r.source.poll()
        assert r.skipped("duplicate") == 2
        assert r.skipped("invalid") == 0
    rates = {s.id: (s.ingest_rate, s.last_seen_ms) for s in snap.active}
    assert rates == {"a": (1000.0, (NOW - 1) * 1000), "b": (99.0, (NOW - 1) * 1000)}


async def test_invalid_records_are_skipped_counted_and_not_fatal() -> None:
    """Malformed records are counted as skipped(invalid); the good ones are exported."""
    body = fixture_bytes("malformed.json")
    studio = FakeStudio(script=[httpx.Response(200, content=body)])
    with capture_logs() as logs:
        async with rig(studio) as r:
            snap = await r.source.poll()
            assert r.skipped("invalid") == 13
    assert sorted(ids(snap.active)) == ["good-1", "good-2"]
    (entry,) = (e for e in logs if e["event"] == "livepeer_records_invalid")
    assert entry["count"] == 13


async def test_fixture_pages_build_the_expected_snapshot() -> None:
    """The research example, served by the fake Studio, gives its active and tracked session."""
    studio = FakeStudio(fixture_items("two_sessions.json"))
    with capture_logs() as logs:
        async with rig(studio, page_size=1) as r:
            snap = await r.source.poll()
    assert len(studio.requests) == 3
    assert ids(snap.active) == ["4b9e2c1a-7d3f-4e8a-9c55-0f1e2d3c4b5a"]
    assert ids(snap.recorded) == ["9f0a8b7c-6d5e-4f3a-8b2c-1d0e9f8a7b6c"]
    assert "FIXTURE-STREAM-KEY" not in repr(snap) + repr(logs)


async def test_projects_once_seen_keep_zero_aggregates() -> None:
    """After a project's sessions leave the window, its aggregates stay at 0 (no project="")."""
    studio = FakeStudio([wire("a")])
    async with rig(studio) as r:
        first = await r.source.poll()
        studio.sessions = []
        second = await r.source.poll()
    assert [t.project for t in first.totals] == [PROJECT]
    assert [(t.project, t.healthy) for t in second.totals] == [(PROJECT, 0)]


async def test_nothing_ever_seen_gives_the_empty_project() -> None:
    """Before any session is seen, aggregates carry project=""."""
    async with rig(FakeStudio()) as r:
        snap = await r.source.poll()
    assert [t.project for t in snap.totals] == [""]


async def test_cap_is_applied_and_reported() -> None:
    """max-sessions keeps the highest ingest rates and reports the rest as omitted."""
    studio = FakeStudio([wire(f"s{i}", ingestRate=i) for i in range(5)])
    async with rig(studio, max_sessions=2) as r:
        snap = await r.source.poll()
    assert ids(snap.active) == ["s3", "s4"]
    assert (snap.sessions, snap.omitted) == (5, 3)


async def test_tracked_recordings_left_out_by_the_cap_are_logged() -> None:
    """Recorded sessions that no longer fit the cap are logged with their number."""
    studio = FakeStudio(
        [wire("live"), *(wire(f"r{i}", last_seen_ago=600, record=True) for i in range(3))]
    )
    with capture_logs() as logs:
        async with rig(studio, max_sessions=2) as r:
            snap = await r.source.poll()
    assert (ids(snap.active), ids(snap.recorded)) == (["live"], ["r0"])
    (entry,) = (e for e in logs if e["event"] == "livepeer_recordings_omitted")
    assert (entry["count"], entry["max_sessions"]) == (2, 2)


async def test_failure_on_a_later_page_fails_the_whole_poll() -> None:
    """A poll is all or nothing: an error on page 2 discards page 1."""
    link = {"link": f'<{INTERNAL}/session?limit=1&cursor=skip1>; rel="next"'}
    studio = FakeStudio(
        script=[httpx.Response(200, json=[wire("a")], headers=link), httpx.Response(503)]
    )
    async with rig(studio, page_size=1) as r:
        with pytest.raises(UpstreamError, match="HTTP 503"):
            await r.source.poll()


def test_spec_targets_only_a_configured_key() -> None:
    """The source spec is configured by the key and labelled with the target name."""
    plain = Settings.from_sources(
        ["--livekit.project-id=p"], {"LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s"}, SOURCES
    )
    assert plain.of(LivepeerSettings).target is None
    keyed = Settings.from_sources(
        ["--livepeer.target-name=studio-eu"], {"LIVEPEER_API_KEY": "k"}, SOURCES
    )
    assert (SPEC.kind, keyed.of(LivepeerSettings).target) == ("livepeer_studio", "studio-eu")


async def test_spec_builds_a_livepeer_source() -> None:
    """SPEC.build gives a LivepeerSource with the settings' kind, target and interval."""
    settings = Settings.from_sources(
        ["--livepeer.poll-interval=45s"], {"LIVEPEER_API_KEY": "k"}, SOURCES
    )
    async with rig(FakeStudio()) as r:
        source = SPEC.build(settings.of(LivepeerSettings), r.context)
    assert isinstance(source, LivepeerSource)
    assert (source.kind, source.target, source.interval) == ("livepeer_studio", "default", 45.0)


async def test_series_are_labelled_with_the_target_name_of_the_context() -> None:
    """The source's target is its context's name (not the flag's target name), and it
    labels every series the source renders."""
    studio = FakeStudio([wire("a")])
    async with rig(studio) as r:
        source = LivepeerSource(SETTINGS, replace(r.context, name="studio-eu"))
        snap = await source.poll()
    assert (SETTINGS.target_name, source.target) == ("default", "studio-eu")
    metrics = source.families(snap)
    assert metrics
    for family in metrics:
        assert family.samples, family.name
        for sample in family.samples:
            assert sample.labels["target"] == "studio-eu", family.name
