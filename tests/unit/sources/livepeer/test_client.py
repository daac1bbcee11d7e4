"""The Livepeer client over a fake Studio: the request and its ``lastSeen`` range, Link
cursors, statuses and transport failures as typed errors, and a body that never leaks."""

from __future__ import annotations

import json

import httpx
import pytest
from structlog.testing import capture_logs

from exporter.errors import AuthError, PayloadError, RateLimitedError, UpstreamError
from exporter.sources.livepeer.client import next_cursor
from tests.unit.sources.livepeer.fake_studio import (
    API_KEY,
    BASE,
    INTERNAL,
    NOW,
    FakeStudio,
    ids,
    rig,
    wire,
)

pytestmark = pytest.mark.anyio


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
