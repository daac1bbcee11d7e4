"""The Livepeer list's paging at its edges: the max-pages cap, a repeated cursor and a
repeated page mark the poll truncated (without failing it); a next link without a cursor ends
the list with a warning, and is not counted as truncated."""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, cast

import httpx
import pytest
from structlog.testing import capture_logs

from exporter.exposition.self_metrics import TargetTelemetry
from exporter.sources.base import TargetContext
from exporter.sources.livepeer.snapshot import LivepeerSnapshot
from exporter.sources.livepeer.source import KIND, LivepeerSource
from tests.support.fakes import FakeClock
from tests.support.source_rig import SourceRig, source_rig
from tests.unit.sources.livepeer.fake_studio import (
    INTERNAL,
    NOW,
    SETTINGS,
    FakeStudio,
    ids,
    rig,
    wire,
)

pytestmark = pytest.mark.anyio


async def polled(r: SourceRig[LivepeerSource]) -> tuple[LivepeerSnapshot, float | None]:
    """One poll as the poller records it; its snapshot and the ``source_truncated`` gauge."""
    telemetry = cast(TargetTelemetry, r.context.telemetry)
    telemetry.poll_started()
    snapshot = await r.source.poll()
    telemetry.poll_succeeded(duration=0.1, finished=NOW, omitted=snapshot.omitted)
    return snapshot, r.self_metric("source_truncated")


def events(logs: list[MutableMapping[str, Any]], name: str) -> list[MutableMapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == name]


def page(*sids: str, link: str | None = None) -> httpx.Response:
    """A 200 listing ``sids`` (each seen more recently than the next), with ``link`` as its
    ``Link: <…>; rel="next"`` target."""
    headers = {} if link is None else {"link": f'<{link}>; rel="next"'}
    items = [wire(sid, last_seen_ago=index + 1) for index, sid in enumerate(sids)]
    return httpx.Response(200, json=items, headers=headers)


def cursors(studio: FakeStudio) -> list[str | None]:
    return [request.url.params.get("cursor") for request in studio.requests]


async def test_the_max_pages_cap_marks_the_poll_truncated_and_says_so() -> None:
    """A list cut by max-pages still succeeds with the sessions read, marked truncated (1),
    with a warning naming the cap and the sessions read."""
    studio = FakeStudio([wire(f"s{i}", last_seen_ago=i) for i in range(10)])
    async with rig(studio, page_size=2, max_pages=3) as r:
        assert r.self_metric("source_truncated") == 0  # known from the start
        with capture_logs() as logs:
            snap, truncated = await polled(r)
    assert (len(studio.requests), snap.sessions, truncated) == (3, 6, 1)
    (warning,) = events(logs, "livepeer_page_limit_reached")
    assert (warning["max_pages"], warning["sessions"], warning["log_level"]) == (3, 6, "warning")


async def test_a_whole_list_is_not_truncated_and_clears_an_earlier_truncation() -> None:
    """A poll that follows the cursors to the end exports 0, also after a truncated poll."""
    studio = FakeStudio([wire(f"s{i}", last_seen_ago=i) for i in range(5)])
    async with rig(studio, page_size=2, max_pages=2) as r:
        _, first = await polled(r)
        del studio.sessions[3:]
        snap, second = await polled(r)
    assert (first, second, snap.sessions) == (1, 0, 3)


async def test_a_repeated_cursor_stops_the_list_early_as_truncated() -> None:
    """A Link that names a cursor already asked for is not followed again: the list stops
    after two requests (not max-pages), the poll succeeds with both pages, truncated."""
    again = f"{INTERNAL}/session?limit=2&cursor=skip2"
    studio = FakeStudio(script=[page("a", "b", link=again), page("c", "d", link=again)])
    async with rig(studio, page_size=2, max_pages=50) as r:
        with capture_logs() as logs:
            snap, truncated = await polled(r)
    assert cursors(studio) == [None, "skip2"]
    assert (ids(snap.active), truncated) == (["a", "b", "c", "d"], 1)
    (warning,) = events(logs, "livepeer_list_repeated")
    assert (warning["repeated"], warning["sessions"], warning["log_level"]) == (
        "cursor",
        4,
        "warning",
    )


@asynccontextmanager
async def ignoring_cursor(
    studio: FakeStudio, **settings: Any
) -> AsyncIterator[SourceRig[LivepeerSource]]:
    """A source over ``studio`` behind an API that answers the first page whatever cursor it
    is asked for (while still linking a fresh cursor each time)."""
    asked = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal asked
        asked += 1
        url = request.url.copy_remove_param("cursor")
        answer = studio(httpx.Request(request.method, url, headers=request.headers))
        link = f"{INTERNAL}/session?cursor=skip{2 * asked}"
        return httpx.Response(200, content=answer.content, headers={"link": f"<{link}>; rel=next"})

    def build(context: TargetContext) -> LivepeerSource:
        return LivepeerSource(replace(SETTINGS, **settings), context)

    async with source_rig(KIND, SETTINGS.target_name, handler, build, clock=FakeClock(NOW)) as r:
        yield r


async def test_a_repeated_page_stops_the_list_early_as_truncated() -> None:
    """An API that ignores the cursor answers the same sessions again under a new cursor:
    the list stops after the repeat, its rows count as duplicates, and the poll is truncated."""
    studio = FakeStudio([wire(f"s{i}", last_seen_ago=i) for i in range(6)])
    async with ignoring_cursor(studio, page_size=2, max_pages=50) as r:
        with capture_logs() as logs:
            snap, truncated = await polled(r)
        assert r.skipped("duplicate") == 2
    assert cursors(studio) == [None, None]
    assert (ids(snap.active), truncated) == (["s0", "s1"], 1)
    (warning,) = events(logs, "livepeer_list_repeated")
    assert (warning["repeated"], warning["sessions"]) == ("page", 2)


@pytest.mark.parametrize("target", [f"{INTERNAL}/session?limit=2", f"{INTERNAL}/session?cursor="])
async def test_a_next_link_without_a_cursor_ends_the_list_with_a_warning(target: str) -> None:
    """A rel="next" link with no cursor cannot be followed: the list ends at that page, as
    before, but now with a warning that says whether the page was full (sessions may be
    missing) and never repeats the link. It is not counted as truncated: Studio links a next
    page after a full last page too, so the link alone does not prove sessions are missing."""
    studio = FakeStudio(script=[page("a", "b", link=target)])
    async with rig(studio, page_size=2) as r:
        with capture_logs() as logs:
            snap, truncated = await polled(r)
    assert (len(studio.requests), ids(snap.active), truncated) == (1, ["a", "b"], 0)
    (warning,) = events(logs, "livepeer_next_link_without_cursor")
    assert (warning["page_full"], warning["log_level"]) == (True, "warning")
    assert INTERNAL not in str(logs)


async def test_an_empty_page_with_a_cursorless_link_ends_quietly() -> None:
    """[] ends the list whatever its Link says, so a cursor-less link on it is no warning."""
    studio = FakeStudio(script=[page(link=f"{INTERNAL}/session?limit=2")])
    async with rig(studio) as r:
        with capture_logs() as logs:
            snap, truncated = await polled(r)
    assert (snap.sessions, truncated) == (0, 0)
    assert not events(logs, "livepeer_next_link_without_cursor")
