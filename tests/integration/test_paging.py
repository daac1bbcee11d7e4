"""Paging at its edges, end to end: the exporter in-process against the simulator, through
the real poller and self-metrics.

The page cap is hit with the world's own controls (more sessions than pages of a small size
can hold). The simulator pages correctly, so an API that loops, or links a next page without
a cursor, is made by a transport between the exporter and the simulator that distorts one
thing of the simulator's real answers: the ``page`` it is asked for, or the ``Link`` it sends.
Whatever the list does, the poll succeeds (``source_up`` 1) and serves what it read;
``livesession_exporter_source_truncated`` says whether that was the whole list.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from exporter.app import Exporter, build_exporter
from tests.support.simulated import (
    Simulated,
    Source,
    livekit_listed,
    poll,
    self_metric,
    simulated,
)

pytestmark = pytest.mark.anyio

Logs = list[MutableMapping[str, Any]]


class Distorting(httpx.AsyncBaseTransport):
    """The real HTTP transport, with each request, then each response's headers, rewritten."""

    def __init__(
        self,
        request: Callable[[httpx.Request], httpx.Request] = lambda r: r,
        headers: Callable[[httpx.Headers], httpx.Headers] = lambda h: h,
    ) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._request, self._headers = request, headers

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(self._request(request))
        return httpx.Response(
            response.status_code,
            headers=self._headers(response.headers),
            stream=response.stream,
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._inner.aclose()


@asynccontextmanager
async def exporter(
    rig: Simulated, source: Source, *flags: str, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[Exporter]:
    """An exporter of ``source`` pointed at the simulator, on the rig's clock, through
    ``transport`` (the real one when None)."""
    settings = rig.settings(source, *flags)
    async with build_exporter(
        settings, clock=rig.clock, registry=CollectorRegistry(), transport=transport
    ) as ex:
        yield ex


def events(logs: Logs, name: str) -> Logs:
    return [entry for entry in logs if entry["event"] == name]


def query(rig: Simulated, endpoint: str, name: str) -> list[str | None]:
    """The value of query parameter ``name`` in each request the simulator got on ``endpoint``."""
    out: list[str | None] = []
    for record in rig.sim.log.for_endpoint(endpoint):
        found = re.search(rf"(?:^|&){name}=([^&]*)", record.query_string)
        out.append(found.group(1) if found else None)
    return out


async def polled(ex: Exporter) -> Logs:
    """One poll of the exporter's target, which must succeed; the log lines it wrote."""
    with capture_logs() as logs:
        assert await poll(ex) is None
    return logs


@pytest.mark.parametrize(
    ("source", "endpoint", "event"),
    [
        ("livekit", "livekit.list", "livekit_max_pages_reached"),
        ("livepeer", "livepeer.list", "livepeer_page_limit_reached"),
    ],
)
async def test_the_page_cap_keeps_the_target_up_but_truncated(
    source: Source, endpoint: str, event: str
) -> None:
    """More sessions than max-pages pages hold: the poll succeeds (source_up 1) after exactly
    max-pages requests, source_truncated is 1 and a warning says so; the same world read with
    room to spare is not truncated."""
    async with simulated(livekit_sessions=40, livepeer_sessions=60) as rig:
        cap = (f"--{source}.page-size=3", f"--{source}.max-pages=2")
        async with exporter(rig, source, *cap) as ex:
            assert self_metric(ex, "source_truncated") == 0
            logs = await polled(ex)
            assert len(rig.sim.log.for_endpoint(endpoint)) == 2
            assert self_metric(ex, "source_up") == 1
            assert self_metric(ex, "source_truncated") == 1
            (warning,) = events(logs, event)
            assert (warning["max_pages"], warning["sessions"]) == (2, 6)
        rig.sim.log.clear()
        async with exporter(rig, source, f"--{source}.page-size=3") as ex:
            await polled(ex)
            assert len(rig.sim.log.for_endpoint(endpoint)) > 2
            assert (self_metric(ex, "source_up"), self_metric(ex, "source_truncated")) == (1, 0)


def first_page(request: httpx.Request) -> httpx.Request:
    """The request, asking for page 0 whatever page the exporter wanted (an API ignoring
    ``page``)."""
    if request.url.params.get("page") is None:
        return request
    url = request.url.copy_set_param("page", "0")
    return httpx.Request(request.method, url, headers=request.headers)


async def test_a_livekit_api_repeating_its_page_stops_the_list_early() -> None:
    """LiveKit answering page 0 to every page: the list stops at the second request instead
    of spending max-pages (50) of the project's budget, the target stays up with the first
    page's sessions, truncated, and the repeat is logged."""
    async with (
        simulated(livekit_sessions=40) as rig,
        exporter(rig, "livekit", "--livekit.page-size=5", transport=Distorting(first_page)) as ex,
    ):
        logs = await polled(ex)
        assert len(livekit_listed(rig.sim)) > 10
        assert query(rig, "livekit.list", "page") == ["0", "0"]
        assert self_metric(ex, "source_up") == 1
        assert self_metric(ex, "source_truncated") == 1
        assert self_metric(ex, "records_skipped_total", reason="duplicate") == 5
        (warning,) = events(logs, "livekit_list_repeated")
        assert (warning["repeated"], warning["sessions"]) == ("page", 5)


def link_to(cursor: str | None) -> Callable[[httpx.Headers], httpx.Headers]:
    """Rewrites a ``Link`` header to name ``cursor`` (no cursor at all for None)."""

    def rewrite(headers: httpx.Headers) -> httpx.Headers:
        link = headers.get("link")
        if link is not None:
            replacement = "" if cursor is None else f"cursor={cursor}"
            headers = httpx.Headers(
                {**headers, "link": re.sub(r"cursor=[^&>]*", replacement, link)}
            )
        return headers

    return rewrite


async def test_a_livepeer_cursor_repeated_stops_the_list_early() -> None:
    """Studio linking the same cursor from every page: it is asked for once, the list stops
    at the second page, the target stays up with both pages, truncated, and the repeat is
    logged."""
    async with (
        simulated(livepeer_sessions=60) as rig,
        exporter(
            rig,
            "livepeer",
            "--livepeer.page-size=3",
            transport=Distorting(headers=link_to("skip3")),
        ) as ex,
    ):
        logs = await polled(ex)
        assert query(rig, "livepeer.list", "cursor") == [None, "skip3"]
        assert (self_metric(ex, "source_up"), self_metric(ex, "source_truncated")) == (1, 1)
        (warning,) = events(logs, "livepeer_list_repeated")
        assert (warning["repeated"], warning["sessions"]) == ("cursor", 6)


async def test_a_livepeer_next_link_without_a_cursor_is_warned_not_truncated() -> None:
    """Studio linking a next page without a cursor: the list ends at the first page, as it
    did, but a warning now says so (the page was full); not counted as truncated, since the
    link alone does not prove sessions are missing."""
    async with (
        simulated(livepeer_sessions=60) as rig,
        exporter(
            rig, "livepeer", "--livepeer.page-size=3", transport=Distorting(headers=link_to(None))
        ) as ex,
    ):
        logs = await polled(ex)
        assert len(rig.sim.log.for_endpoint("livepeer.list")) == 1
        assert (self_metric(ex, "source_up"), self_metric(ex, "source_truncated")) == (1, 0)
        (warning,) = events(logs, "livepeer_next_link_without_cursor")
        assert warning["page_full"] is True
