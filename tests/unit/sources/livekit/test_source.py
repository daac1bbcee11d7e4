"""The LiveKit source over a fake Analytics API: paging, dedup, details, budget and
round-robin, the cap, and its spec. The HTTP side (tokens, errors) is in test_client.py."""

from __future__ import annotations

import dataclasses

import anyio
import httpx
import pytest
from structlog.testing import capture_logs

from exporter.config.settings import Settings
from exporter.errors import RateLimitedError, UpstreamError
from exporter.sources.livekit import SPEC
from exporter.sources.livekit.settings import LiveKitSettings
from exporter.sources.livekit.source import DETAILS_CONCURRENCY, KIND, LiveKitSource
from exporter.sources.registry import SOURCES
from tests.support.fakes import eventually
from tests.unit.sources.livekit.fake_api import (
    API_SECRET,
    PROJECT,
    TARGET,
    FakeAnalytics,
    details,
    list_params,
    rig,
    session,
    settings,
    values,
)

pytestmark = pytest.mark.anyio


async def test_pages_are_followed_until_a_short_page() -> None:
    """250 sessions in pages of 100: pages 0, 1, 2 requested, all 250 exported."""
    api = FakeAnalytics([session(i) for i in range(250)])
    async with rig(api, details=False) as r:
        snap = await r.source.poll()
    assert [p["page"] for p in list_params(api)] == ["0", "1", "2"]
    assert {p["limit"] for p in list_params(api)} == {"100"}
    assert snap.sessions == 250
    assert len(values(snap)["livekit_cloud_session_participants_active"]) == 250


async def test_a_full_last_page_costs_one_empty_page() -> None:
    """When the last page is full, one more (empty) page proves the end."""
    api = FakeAnalytics([session(i) for i in range(20)])
    async with rig(api, details=False, page_size=10) as r:
        snap = await r.source.poll()
    assert [p["page"] for p in list_params(api)] == ["0", "1", "2"]
    assert snap.sessions == 20


async def test_max_pages_caps_the_listing_and_says_so() -> None:
    """No more than max-pages list requests per poll; a warning says sessions may be missing."""
    api = FakeAnalytics([session(i) for i in range(50)])
    async with rig(api, details=False, page_size=10, max_pages=2) as r:
        with capture_logs() as logs:
            snap = await r.source.poll()
    assert len(list_params(api)) == 2
    assert snap.sessions == 20
    assert {"event": "livekit_max_pages_reached", "max_pages": 2, "log_level": "warning"} in [
        {k: v for k, v in e.items() if k in ("event", "max_pages", "log_level")} for e in logs
    ]


async def test_duplicates_across_pages_count_once() -> None:
    """Offset paging over live data repeats rows: each sessionId counts once, repeats are
    counted as skipped duplicates."""
    rows = [session(i) for i in range(10)]
    api = FakeAnalytics([*rows[:5], rows[4], rows[0], *rows[5:]])  # two repeats
    async with rig(api, details=False, page_size=4) as r:
        snap = await r.source.poll()
        assert r.self_metric("records_skipped_total", reason="duplicate") == 2
    assert snap.sessions == 10
    assert values(snap)["livekit_cloud_participants_active"][(PROJECT, TARGET)] == 10


async def test_invalid_records_are_skipped_and_counted() -> None:
    """A malformed record costs only itself: counted as invalid, the others exported."""
    bad = [{"sessionId": "RM_bad", "createdAt": "2027-01-15T07:00:00Z", "egress": "maybe"}]
    api = FakeAnalytics([session(1), *bad, "junk", session(2)])  # type: ignore[list-item]  # deliberately malformed
    async with rig(api, details=False) as r:
        with capture_logs() as logs:
            snap = await r.source.poll()
        assert r.self_metric("records_skipped_total", reason="invalid") == 2
    assert snap.sessions == 2
    (warning,) = [e for e in logs if e["event"] == "livekit_records_invalid"]
    assert warning["count"] == 2
    assert "$.sessions[1]" in warning["first"]
    assert "maybe" not in warning["first"]  # the path, never the value


async def test_details_are_fetched_for_active_sessions_only() -> None:
    """Ended sessions get no details request; active ones do, and show their publishers."""
    api = FakeAnalytics(
        [session(1), session(2, active=False), session(3)],
        {"RM_0001": details(cameras=2), "RM_0003": details(cameras=1, bandwidth="77")},
    )
    async with rig(api) as r:
        snap = await r.source.poll()
    assert sorted(api.paths()) == ["RM_0001", "RM_0003"]
    got = values(snap)
    assert got["livekit_cloud_publishers"][(PROJECT, TARGET, "camera")] == 3
    assert (
        got["livekit_cloud_session_publishers"][(PROJECT, "room-1", "RM_0001", TARGET, "camera")]
        == 2
    )
    assert got["livekit_cloud_session_billable_bandwidth_bytes_total"] == {
        (PROJECT, "room-3", "RM_0003", TARGET): 77
    }
    assert "livekit_cloud_session_connection_seconds_total" not in got


async def test_details_concurrency_is_bounded() -> None:
    """No more than DETAILS_CONCURRENCY details requests are in flight at once."""
    release = anyio.Event()
    in_flight = 0
    peak = 0

    async def hold(request: httpx.Request) -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await release.wait()
        in_flight -= 1

    api = FakeAnalytics(
        [session(i) for i in range(20)], {f"RM_{i:04d}": details() for i in range(20)}
    )
    api.hold = hold
    async with rig(api) as r, anyio.create_task_group() as tg:
        tg.start_soon(r.source.poll)
        await eventually(lambda: in_flight == DETAILS_CONCURRENCY)
        await anyio.wait_all_tasks_blocked()
        assert in_flight == DETAILS_CONCURRENCY
        release.set()
    assert peak == DETAILS_CONCURRENCY
    assert len(api.paths()) == 20


async def test_budget_rations_details_round_robin_across_polls() -> None:
    """With budget for 3 details a poll and 7 active sessions, each poll refreshes the next
    three in turn, and no poll spends more than the bucket holds."""
    ids = [f"RM_{i:04d}" for i in range(7)]
    api = FakeAnalytics([session(i) for i in range(7)], {sid: details() for sid in ids})
    # 120 a minute with a 2 s interval: a 4-token bucket, one for the list, three for details
    async with rig(api, requests_per_minute=120, poll_interval=2.0) as r:
        plans = []
        for _ in range(4):
            before = len(api.paths())
            snap = await r.source.poll()
            plans.append(api.paths()[before:])
            await r.clock.advance(2.0)
        publishers = values(snap)["livekit_cloud_session_publishers"]
    assert [sorted(plan) for plan in plans] == [
        ids[0:3],
        ids[3:6],
        [ids[0], ids[1], ids[6]],
        ids[2:5],
    ]
    assert len(api.requests) == 4 * 4
    assert {key[2] for key in publishers} == set(ids)  # all known after a full round


async def test_first_poll_shows_publishers_only_for_fetched_sessions() -> None:
    """Per-session publishers appear once a session's details are known; aggregates cover
    exactly those sessions."""
    api = FakeAnalytics(
        [session(i) for i in range(5)], {f"RM_{i:04d}": details(cameras=1) for i in range(5)}
    )
    async with rig(api, requests_per_minute=120, poll_interval=2.0) as r:
        got = values(await r.source.poll())
    fetched = {key[2] for key in got["livekit_cloud_session_publishers"]}
    assert fetched == {"RM_0000", "RM_0001", "RM_0002"}
    assert got["livekit_cloud_publishers"][(PROJECT, TARGET, "camera")] == 3


async def test_no_details_mode_makes_no_details_requests() -> None:
    """--no-livekit.details lists only, and exports no publisher series per session."""
    api = FakeAnalytics([session(1)], {"RM_0001": details()})
    async with rig(api, details=False) as r:
        got = values(await r.source.poll())
    assert api.paths() == []
    assert "livekit_cloud_session_publishers" not in got
    assert got["livekit_cloud_publishers"][(PROJECT, TARGET, "camera")] == 0


async def test_invalid_details_are_skipped_and_counted() -> None:
    """A details body of the wrong shape counts one invalid record; the poll succeeds."""
    api = FakeAnalytics(
        [session(1), session(2)],
        {"RM_0001": {"participants": "nobody"}, "RM_0002": details()},
    )
    async with rig(api) as r:
        got = values(await r.source.poll())
        assert r.self_metric("records_skipped_total", reason="invalid") == 1
    assert {key[2] for key in got["livekit_cloud_session_publishers"]} == {"RM_0002"}


async def test_a_malformed_participant_costs_only_itself() -> None:
    """A participant of the wrong shape is skipped and counted; the others still count."""
    body: dict[str, object] = {
        "participants": [
            {"publishedSources": {"cameraTrack": True}},
            {"publishedSources": "camera"},
            {"publishedSources": {"cameraTrack": True, "microphoneTrack": True}},
        ]
    }
    api = FakeAnalytics([session(1)], {"RM_0001": body})
    async with rig(api) as r:
        with capture_logs() as logs:
            got = values(await r.source.poll())
        assert r.self_metric("records_skipped_total", reason="invalid") == 1
    assert got["livekit_cloud_publishers"][(PROJECT, TARGET, "camera")] == 2
    assert got["livekit_cloud_publishers"][(PROJECT, TARGET, "microphone")] == 1
    (warning,) = [e for e in logs if e["event"] == "livekit_details_invalid"]
    assert (warning["session_id"], warning["count"]) == ("RM_0001", 1)


async def test_ended_sessions_vanish_with_their_details() -> None:
    """A session that ends disappears from every series at the next poll."""
    api = FakeAnalytics([session(1), session(2)], {"RM_0001": details(), "RM_0002": details()})
    async with rig(api) as r:
        first = values(await r.source.poll())
        api.sessions[0] = session(1, active=False)
        second = values(await r.source.poll())
    assert len(first["livekit_cloud_session_participants_active"]) == 2
    assert list(second["livekit_cloud_session_participants_active"]) == [
        (PROJECT, "room-2", "RM_0002", TARGET)
    ]
    assert second["livekit_cloud_publishers"][(PROJECT, TARGET, "camera")] == 1
    assert second["livekit_cloud_sessions_active"][(PROJECT, TARGET)] == 1


async def test_the_cap_keeps_the_busiest_and_counts_the_rest() -> None:
    """max-sessions keeps the sessions with most active participants; aggregates stay exact."""
    api = FakeAnalytics([session(i, participants=i) for i in range(1, 8)])
    async with rig(api, details=False, max_sessions=3) as r:
        snap = await r.source.poll()
    got = values(snap)
    assert {key[2] for key in got["livekit_cloud_session_participants_active"]} == {
        "RM_0005",
        "RM_0006",
        "RM_0007",
    }
    assert snap.omitted == 4
    assert got["livekit_cloud_participants_active"][(PROJECT, TARGET)] == sum(range(1, 8))


def test_spec_builds_only_with_credentials() -> None:
    """The spec names the project as target, and no target without credentials."""
    with_creds = Settings.from_sources(
        ["--livekit.project-id", "p_spec"],
        {"LIVEKIT_API_KEY": "APIk", "LIVEKIT_API_SECRET": API_SECRET},
        SOURCES,
    )
    assert SPEC.kind == KIND == "livekit_cloud"
    assert with_creds.of(LiveKitSettings).target == "p_spec"
    without = Settings.from_sources([], {"LIVEPEER_API_KEY": "lp-key"}, SOURCES)
    assert without.of(LiveKitSettings).target is None


async def test_series_are_labelled_with_the_target_name_not_the_project() -> None:
    """The source's target is its context's name, which labels every series it renders,
    even when that name differs from the project id."""
    api = FakeAnalytics([session(1)], {"RM_0001": details()})
    async with rig(api) as r:
        source = LiveKitSource(settings(), dataclasses.replace(r.context, name="prod-eu"))
        snap = await source.poll()
    assert source.target == "prod-eu"
    metrics = source.families(snap)
    assert metrics
    for family in metrics:
        assert family.samples, family.name
        for sample in family.samples:
            assert (sample.labels["target"], sample.labels["project"]) == ("prod-eu", PROJECT)


async def test_a_source_without_credentials_is_refused() -> None:
    """Building the source without credentials is a programming error."""
    async with rig(FakeAnalytics()) as r:
        with pytest.raises(ValueError, match="credentials"):
            LiveKitSource(settings(credentials=None), r.context)


async def test_a_details_429_stops_the_details_and_is_rate_limited() -> None:
    """One 429 among details cancels the rest and fails the poll as rate_limited, keeping
    the Retry-After; other errors of the same poll do not mask it."""
    ids = [f"RM_{i:04d}" for i in range(10)]
    api = FakeAnalytics([session(i) for i in range(10)], {sid: details() for sid in ids})

    def throttle(request: httpx.Request) -> httpx.Response | None:
        if request.url.path.endswith("RM_0003"):
            return httpx.Response(429, headers={"retry-after": "5"})
        if request.url.path.endswith("RM_0001"):
            return httpx.Response(500)
        return None

    api.faults = [throttle, throttle]
    async with rig(api) as r:
        with pytest.raises(RateLimitedError) as caught:
            await r.source.poll()
    assert caught.value.retry_after == 5.0


async def test_a_details_5xx_fails_the_poll_but_keeps_the_details_fetched() -> None:
    """A server error on details fails the poll; details fetched before it serve later."""
    api = FakeAnalytics([session(0), session(1)], {"RM_0000": details(), "RM_0001": details()})
    api.faults = [
        lambda request: httpx.Response(502) if request.url.path.endswith("RM_0001") else None
    ]
    async with rig(api) as r:
        with pytest.raises(UpstreamError) as caught:
            await r.source.poll()
        assert caught.value.reason == "server_error"
        got = values(await r.source.poll())
    assert len(got["livekit_cloud_session_publishers"]) == 8
