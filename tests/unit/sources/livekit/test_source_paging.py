"""The LiveKit list's paging at its edges: the max-pages cap and an API that repeats a page
mark the poll truncated (without failing it), and a row repeated across pages keeps its copy
with the latest activity."""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Any, cast

import httpx
import pytest
from structlog.testing import capture_logs

from exporter.exposition.self_metrics import TargetTelemetry
from exporter.sources.base import TargetContext
from exporter.sources.livekit.snapshot import LiveKitSnapshot
from exporter.sources.livekit.source import KIND, LiveKitSource
from tests.support.fakes import FakeClock
from tests.support.source_rig import SourceRig, source_rig
from tests.unit.sources.livekit.fake_api import (
    LIST_PATH,
    PROJECT,
    TARGET,
    FakeAnalytics,
    list_params,
    rig,
    session,
    settings,
    values,
)

pytestmark = pytest.mark.anyio


async def polled(r: SourceRig[LiveKitSource]) -> tuple[LiveKitSnapshot, float | None]:
    """One poll as the poller records it; its snapshot and the ``source_truncated`` gauge."""
    telemetry = cast(TargetTelemetry, r.context.telemetry)
    telemetry.poll_started()
    snapshot = await r.source.poll()
    telemetry.poll_succeeded(duration=0.1, finished=r.clock.time(), omitted=snapshot.omitted)
    return snapshot, r.self_metric("source_truncated")


@asynccontextmanager
async def ignoring_page(
    api: FakeAnalytics, **changes: Any
) -> AsyncIterator[SourceRig[LiveKitSource]]:
    """A source over ``api`` behind an API that answers page 0 whatever ``page`` it is asked."""

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == LIST_PATH:
            url = request.url.copy_set_param("page", "0")
            request = httpx.Request(request.method, url, headers=request.headers)
        return await api(request)

    def build(context: TargetContext) -> LiveKitSource:
        return LiveKitSource(settings(**changes), context)

    async with source_rig(KIND, PROJECT, handler, build, clock=FakeClock()) as r:
        yield r


def events(logs: list[MutableMapping[str, Any]], name: str) -> list[MutableMapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == name]


async def test_the_max_pages_cap_marks_the_poll_truncated_and_says_so() -> None:
    """A list cut by max-pages still succeeds, and its sessions are exported, but the poll is
    truncated (1) and a warning names the cap, the sessions read and what to raise."""
    api = FakeAnalytics([session(i) for i in range(50)])
    async with rig(api, details=False, page_size=10, max_pages=2) as r:
        assert r.self_metric("source_truncated") == 0  # known from the start
        with capture_logs() as logs:
            snap, truncated = await polled(r)
    assert (snap.sessions, truncated) == (20, 1)
    (warning,) = events(logs, "livekit_max_pages_reached")
    assert warning["log_level"] == "warning"
    assert (warning["max_pages"], warning["sessions"]) == (2, 20)
    assert "--livekit.max-pages" in warning["hint"]


async def test_a_whole_list_is_not_truncated_and_clears_an_earlier_truncation() -> None:
    """A poll that reads to the short last page exports 0, also after a truncated poll."""
    api = FakeAnalytics([session(i) for i in range(30)])
    async with rig(api, details=False, page_size=10, max_pages=3) as r:
        _, first = await polled(r)
        del api.sessions[25:]
        snap, second = await polled(r)
    assert (first, second, snap.sessions) == (1, 0, 25)


async def test_an_api_repeating_its_page_stops_the_list_early_as_truncated() -> None:
    """An API that ignores ``page`` answers the first page again: the list stops after that
    second request (not max-pages of them), counts its rows as duplicates, logs the repeat,
    and the poll still succeeds with what it read, marked truncated."""
    api = FakeAnalytics([session(i) for i in range(30)])
    async with ignoring_page(api, details=False, page_size=10, max_pages=50) as r:
        with capture_logs() as logs:
            snap, truncated = await polled(r)
        assert r.skipped("duplicate") == 10
    assert [p["page"] for p in list_params(api)] == ["0", "0"]
    assert (snap.sessions, truncated) == (10, 1)
    (warning,) = events(logs, "livekit_list_repeated")
    assert (warning["repeated"], warning["sessions"], warning["log_level"]) == (
        "page",
        10,
        "warning",
    )
    assert not events(logs, "livekit_max_pages_reached")


async def test_a_row_repeated_across_pages_keeps_its_latest_activity() -> None:
    """Offset paging shows a session on two pages: the copy with the later ``lastActive`` is
    exported whichever page it came on, and at the same ``lastActive`` an ended copy wins (a
    session never restarts), so it is no longer counted active."""
    rows = [session(i) for i in range(8)]
    later = session(0, lastActive="2027-01-15T07:59:30Z", numActiveParticipants=7)
    later["bandwidthIn"] = "999999"
    earlier = session(1, lastActive="2027-01-15T07:58:00Z", numActiveParticipants=9)
    ended = session(2, active=False, lastActive=rows[2]["lastActive"])
    # page 0: rows 0-3; page 1: row 4, then the repeats; page 2: rows 5-7
    api = FakeAnalytics([*rows[:5], later, earlier, ended, *rows[5:]])
    async with rig(api, details=False, page_size=4) as r:
        snap = await r.source.poll()
        assert r.skipped("duplicate") == 3
    out = values(snap)
    key = (PROJECT, "room-0", "RM_0000", TARGET)
    assert out["livekit_cloud_session_participants_active"][key] == 7
    assert out["livekit_cloud_session_bandwidth_bytes_total"][("incoming", *key)] == 999999
    active = out["livekit_cloud_session_participants_active"]
    assert active[(PROJECT, "room-1", "RM_0001", TARGET)] == 1
    assert (PROJECT, "room-2", "RM_0002", TARGET) not in active
    assert snap.sessions == 7
