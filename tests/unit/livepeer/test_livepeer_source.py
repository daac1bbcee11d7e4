"""The Livepeer source over a fake transport: requests, paging, de-duplication and errors."""

from __future__ import annotations

import json

import httpx
import pytest
from structlog.testing import capture_logs

from exporter.config.settings import Settings
from exporter.errors import AuthError, PayloadError, RateLimitedError, UpstreamError
from exporter.sources.livepeer.client import SPEC, LivepeerSource, next_cursor
from tests.unit.livepeer.helpers import (
    API_KEY,
    BASE,
    INTERNAL,
    NOW,
    PROJECT,
    FakeStudio,
    fixture_bytes,
    fixture_items,
    rig,
    wire,
)

pytestmark = pytest.mark.anyio


def ids(snapshot_sessions: object) -> list[str]:
    assert isinstance(snapshot_sessions, tuple)
    return [s.id for s in snapshot_sessions]


async def test_request_carries_key_limit_and_lastseen_range() -> None:
    """GET {base}/session with the Bearer key, limit and a gt range on lastSeen; no eq."""
    studio = FakeStudio()
    async with rig(studio, page_size=25) as r:
        await r.source.poll()
    (request,) = studio.requests
    assert str(request.url.copy_with(query=None)) == f"{BASE}/session"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.url.params["limit"] == "25"
    assert "cursor" not in request.url.params
    since = int((NOW - 6 * 3600) * 1000)
    assert json.loads(request.url.params["filters"]) == [{"id": "lastSeen", "value": {"gt": since}}]
    assert "eq" not in str(request.url)


async def test_range_starts_at_the_longer_of_the_two_windows() -> None:
    """When the active window is longer than the lookback, the range covers it."""
    studio = FakeStudio()
    async with rig(studio, active_window=7200.0, recording_lookback=600.0) as r:
        await r.source.poll()
    filters = json.loads(studio.requests[0].url.params["filters"])
    assert filters[0]["value"] == {"gt": int((NOW - 7200) * 1000)}


async def test_link_cursor_is_followed_against_the_configured_base() -> None:
    """Each next cursor from Link is requested on the configured host, not the link's host."""
    studio = FakeStudio([wire(f"s{i}", last_seen_ago=i) for i in range(5)])
    async with rig(studio, page_size=2) as r:
        snap = await r.source.poll()
    assert [req.url.params.get("cursor") for req in studio.requests] == [None, "skip2", "skip4"]
    assert {str(req.url.copy_with(query=None)) for req in studio.requests} == {f"{BASE}/session"}
    assert all(INTERNAL not in str(req.url) for req in studio.requests)
    assert {req.url.params["filters"] for req in studio.requests} == {
        studio.requests[0].url.params["filters"]
    }
    assert ids(snap.active) == ["s0", "s1", "s2", "s3", "s4"]


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


async def test_401_echoing_the_key_never_reaches_message_or_log() -> None:
    """A 401 is an auth failure whose message and logs carry neither body nor key."""
    body = json.dumps({"errors": [f"no token {API_KEY} found"]}).encode()
    studio = FakeStudio(script=[httpx.Response(401, content=body)])
    with capture_logs() as logs:
        async with rig(studio) as r:
            with pytest.raises(AuthError) as info:
                await r.source.poll()
    assert str(info.value) == "list_sessions: HTTP 401"
    assert API_KEY not in repr(logs)
    assert "no token" not in repr(logs)


@pytest.mark.parametrize(
    "body",
    [
        b'{"errors":["credential has insufficent privileges"]}',
        b'{"errors":["credential disallows CORS access from origin https://x"]}',
        b'{"errors":["user is suspended"]}',
    ],
)
async def test_403_explains_that_a_non_cors_key_is_needed(body: bytes) -> None:
    """A 403 fails as auth; the log and the message say to use a non-CORS API key."""
    studio = FakeStudio(script=[httpx.Response(403, content=body)])
    with capture_logs() as logs:
        async with rig(studio) as r:
            with pytest.raises(AuthError) as info:
                await r.source.poll()
    assert info.value.reason == "auth"
    assert str(info.value) == (
        "list_sessions: HTTP 403 (Studio refuses CORS-enabled API keys on GET /session: "
        "use a non-CORS API key)"
    )
    (entry,) = (e for e in logs if e["event"] == "livepeer_key_forbidden")
    assert (entry["log_level"], entry["hint"]) == ("warning", "use a non-CORS API key")
    assert json.loads(body)["errors"][0] not in repr(logs)


@pytest.mark.parametrize(
    ("response", "kind", "reason"),
    [
        (httpx.Response(429, headers={"retry-after": "17"}), RateLimitedError, "rate_limited"),
        (httpx.Response(500, json={"errors": ["boom"]}), UpstreamError, "server_error"),
        (
            httpx.Response(501, json={"errors": ["Ingest not configured"]}),
            UpstreamError,
            "server_error",
        ),
        (
            httpx.Response(400, json={"errors": ['unknown comparison: "eq"']}),
            UpstreamError,
            "client_error",
        ),
        (httpx.Response(404, json={"errors": ["not found"]}), UpstreamError, "client_error"),
        (httpx.Response(200, content=b"<html>"), PayloadError, "invalid_response"),
        (httpx.Response(200, json={"sessions": []}), PayloadError, "invalid_response"),
    ],
)
async def test_statuses_and_bodies_map_to_reasons(
    response: httpx.Response, kind: type[Exception], reason: str
) -> None:
    """Each failure maps to the reason LiveKit's source uses for it."""
    studio = FakeStudio(script=[response])
    async with rig(studio) as r:
        with pytest.raises(kind) as info:
            await r.source.poll()
    assert getattr(info.value, "reason", None) == reason
    if reason == "rate_limited":
        assert getattr(info.value, "retry_after", None) == 17


async def test_failure_on_a_later_page_fails_the_whole_poll() -> None:
    """A poll is all or nothing: an error on page 2 discards page 1."""
    link = {"link": f'<{INTERNAL}/session?limit=1&cursor=skip1>; rel="next"'}
    studio = FakeStudio(
        script=[httpx.Response(200, json=[wire("a")], headers=link), httpx.Response(503)]
    )
    async with rig(studio, page_size=1) as r:
        with pytest.raises(UpstreamError, match="HTTP 503"):
            await r.source.poll()


@pytest.mark.parametrize(
    ("exc", "reason"),
    [(httpx.ReadTimeout("slow"), "timeout"), (httpx.ConnectError("refused"), "connection")],
)
async def test_transport_failures_are_typed(exc: Exception, reason: str) -> None:
    """Timeouts and connection failures fail the poll with their own reason."""
    async with rig(FakeStudio(script=[exc])) as r:
        with pytest.raises(UpstreamError) as info:
            await r.source.poll()
    assert info.value.reason == reason


@pytest.mark.parametrize(
    ("headers", "cursor"),
    [
        ([], None),
        ([f'<{INTERNAL}/session?limit=2&cursor=skip2>; rel="next"'], "skip2"),
        (["<https://a/session?cursor=skip4>; rel=next"], "skip4"),
        (['<https://a/s?cursor=p1>; rel="prev", <https://a/s?cursor=n1>; rel="next"'], "n1"),
        (['<https://a/s?cursor=p1>; rel="prev"', '<https://a/s?cursor=n2>; rel="next"'], "n2"),
        (['<https://a/s?cursor=x%2By%3D>; title="t"; rel="next last"'], "x+y="),
        (['<https://a/s?cursor=l>; rel="last"'], None),
        (['<https://a/s?cursor=np>; rel="nextpage"'], None),
        (['<https://a/s?cursor=t>; title="next"'], None),
        (['<https://a/s?cursor=up>; REL = "Next"'], "up"),
        (['<https://a/s?limit=2>; rel="next"'], None),
        (['<https://a/s?cursor=>; rel="next"'], None),
        (["garbage"], None),
        (['<http://[internal:3004/s?cursor=c#frag>; rel="next"'], "c"),
        (['</api/session?cursor=rel>; rel="next"'], "rel"),
    ],
)
def test_next_cursor_reads_only_the_cursor_of_rel_next(
    headers: list[str], cursor: str | None
) -> None:
    """Only the cursor of a rel="next" link is taken; other links and odd headers are not."""
    assert next_cursor(headers) == cursor


def test_spec_targets_only_a_configured_key() -> None:
    """The source spec is configured by the key and labelled with the target name."""
    plain = Settings.from_sources(
        ["--livekit.project-id=p"], {"LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": "s"}
    )
    assert SPEC.target(plain) is None
    keyed = Settings.from_sources(["--livepeer.target-name=studio-eu"], {"LIVEPEER_API_KEY": "k"})
    assert (SPEC.kind, SPEC.target(keyed)) == ("livepeer_studio", "studio-eu")


async def test_spec_builds_a_livepeer_source() -> None:
    """SPEC.build gives a LivepeerSource with the settings' kind, target and interval."""
    settings = Settings.from_sources(["--livepeer.poll-interval=45s"], {"LIVEPEER_API_KEY": "k"})
    async with rig(FakeStudio()) as r:
        source = SPEC.build(settings, r.context)
    assert isinstance(source, LivepeerSource)
    assert (source.kind, source.target, source.interval) == ("livepeer_studio", "default", 45.0)
