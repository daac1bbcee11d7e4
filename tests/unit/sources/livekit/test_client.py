"""The LiveKit client over a fake Analytics API: the list window, bearer tokens (reuse,
re-mint on a 401), the request budget, path-safe ids, the Scale-plan answer, every error
reason, and what never reaches the logs."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import httpx
import jwt
import pytest
from structlog.testing import capture_logs

from exporter.errors import AuthError, PayloadError, RateLimitedError, SourceError, UpstreamError
from exporter.sources.livekit.client import PLAN_HINT, path_segment
from tests.support.fakes import FakeClock, eventually
from tests.unit.sources.livekit.fake_api import (
    API_KEY,
    API_SECRET,
    LIST_PATH,
    PROJECT,
    TARGET,
    FakeAnalytics,
    details,
    list_params,
    rig,
    session,
    values,
)

pytestmark = pytest.mark.anyio


async def test_a_401_remints_the_token_and_retries_once() -> None:
    """A token the server no longer accepts is replaced once and the request retried."""
    api = FakeAnalytics([session(1)])
    async with rig(api, details=False) as r:
        await r.source.poll()
        first = api.requests[0].headers["authorization"].removeprefix("Bearer ")
        api.revoked.add(first)
        await r.clock.advance(1.0)
        snap = await r.source.poll()
        assert r.requests("list_sessions", "401") == 1
    assert snap.sessions == 1
    retried = api.requests[-1].headers["authorization"].removeprefix("Bearer ")
    assert retried != first
    assert len(api.requests) == 3


async def test_a_lasting_401_fails_with_auth_after_one_retry() -> None:
    """Credentials that stay refused cost two requests and an auth failure, no more."""
    api = FakeAnalytics([session(1)])
    api.faults = [lambda request: httpx.Response(401, text="no")] * 2
    async with rig(api) as r:
        with pytest.raises(AuthError) as caught:
            await r.source.poll()
    assert caught.value.reason == "auth"
    assert len(api.requests) == 2


@pytest.mark.parametrize("status", [401, 403])
async def test_the_scale_plan_answer_says_what_is_needed(status: int) -> None:
    """A 'scale plan' refusal fails with auth, and the log and error carry the plan hint,
    never the body."""
    body = "Analytics API requires a Scale Plan or higher (secret-ish detail)"
    api = FakeAnalytics([session(1)])
    api.faults = [lambda request: httpx.Response(status, text=body)] * 2
    async with rig(api) as r:
        with capture_logs() as logs, pytest.raises(AuthError) as caught:
            await r.source.poll()
    assert PLAN_HINT in str(caught.value)
    (warning,) = [e for e in logs if e["event"] == "livekit_plan_required"]
    assert warning["hint"] == PLAN_HINT
    assert all("secret-ish" not in repr(event) for event in logs)
    assert "secret-ish" not in str(caught.value)


@pytest.mark.parametrize(
    ("response", "error", "reason"),
    [
        (httpx.Response(500), UpstreamError, "server_error"),
        (httpx.Response(503, headers={"retry-after": "7"}), UpstreamError, "server_error"),
        (httpx.Response(400, json={"error": "bad start"}), UpstreamError, "client_error"),
        (httpx.Response(404), UpstreamError, "client_error"),
        (httpx.Response(403, text="forbidden"), AuthError, "auth"),
        (httpx.Response(200, text="<html>oops"), PayloadError, "invalid_response"),
        (httpx.Response(200, json=[session(1)]), PayloadError, "invalid_response"),
        (httpx.Response(200, json={"sessions": "many"}), PayloadError, "invalid_response"),
    ],
)
async def test_list_errors_map_to_reasons(
    response: httpx.Response, error: type[SourceError], reason: str
) -> None:
    """Each kind of failed list request fails the poll with its reason."""
    api = FakeAnalytics([session(1)])
    api.faults = [lambda request: response]
    async with rig(api) as r:
        with pytest.raises(error) as caught:
            await r.source.poll()
    assert caught.value.reason == reason


async def test_429_fails_the_poll_with_its_retry_after() -> None:
    """A 429 is rate_limited and hands its Retry-After to the poller."""
    api = FakeAnalytics([session(1)])
    api.faults = [lambda request: httpx.Response(429, headers={"retry-after": "42"})]
    async with rig(api) as r:
        with pytest.raises(RateLimitedError) as caught:
            await r.source.poll()
    assert (caught.value.reason, caught.value.retry_after) == ("rate_limited", 42.0)


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.ConnectTimeout("slow"), "timeout"),
        (httpx.ConnectError("refused"), "connection"),
        (httpx.RemoteProtocolError("reset"), "connection"),
    ],
)
async def test_transport_failures_map_to_reasons(exc: Exception, reason: str) -> None:
    """Timeouts and connection failures fail the poll as timeout and connection."""

    def fail(request: httpx.Request) -> httpx.Response:
        raise exc

    api = FakeAnalytics([session(1)])
    api.faults = [fail]
    async with rig(api) as r:
        with pytest.raises(UpstreamError) as caught:
            await r.source.poll()
        assert r.requests("list_sessions", "error") == 1
    assert caught.value.reason == reason


async def test_secrets_and_tokens_never_reach_logs_or_errors() -> None:
    """Across successes and failures, no log event or error text holds the secret or a token."""
    api = FakeAnalytics([session(1), {"sessionId": 1}], {"RM_0001": {"participants": 1}})
    async with rig(api) as r:
        with capture_logs() as logs:
            await r.source.poll()
            api.faults = [lambda request: httpx.Response(401, text=API_SECRET)] * 2
            with pytest.raises(AuthError) as caught:
                await r.source.poll()
    tokens = {request.headers["authorization"].split()[1] for request in api.requests}
    text = repr(logs) + str(caught.value)
    assert API_SECRET not in text
    assert not any(token in text for token in tokens)


@pytest.mark.parametrize(
    ("wall", "lookback", "start", "end"),
    [
        ("2027-01-15T23:59:59+00:00", 1, "2027-01-14", "2027-01-16"),
        ("2027-01-16T00:00:00+00:00", 1, "2027-01-15", "2027-01-17"),
        ("2027-01-01T12:00:00+00:00", 6, "2026-12-26", "2027-01-02"),
        ("2027-01-15T08:00:00+00:00", 0, "2027-01-15", "2027-01-16"),
    ],
)
async def test_window_is_in_utc_dates_with_an_exclusive_end(
    wall: str, lookback: int, start: str, end: str
) -> None:
    """start is lookback days before today (UTC); end is tomorrow, so today is included."""
    api = FakeAnalytics()
    clock = FakeClock(wall=datetime.fromisoformat(wall).timestamp())
    async with rig(api, clock=clock, lookback_days=lookback) as r:
        await r.source.poll()
    (params,) = list_params(api)
    assert (params["start"], params["end"]) == (start, end)
    assert datetime.fromisoformat(wall).astimezone(UTC).date().isoformat() < end


async def test_requests_carry_a_valid_bearer_token() -> None:
    """Each request carries a roomList JWT issued by the API key, and asks for JSON."""
    api = FakeAnalytics([session(1)], {"RM_0001": details()})
    async with rig(api) as r:
        await r.source.poll()
        expiry = r.self_metric("token_expiry_timestamp_seconds")
    assert len(api.requests) == 2
    for request in api.requests:
        assert request.headers["accept"] == "application/json"
        token = request.headers["authorization"].removeprefix("Bearer ")
        claims = jwt.decode(
            token,
            API_SECRET,
            algorithms=["HS256"],
            issuer=API_KEY,
            options={"verify_exp": False, "verify_nbf": False},
        )
        assert claims["video"] == {"roomList": True}
        assert claims["exp"] == expiry
    assert api.paths("list") == [LIST_PATH]


async def test_one_token_serves_polls_until_its_refresh_point() -> None:
    """Polls reuse the token; a new one is minted once 80 % of its life has passed."""
    api = FakeAnalytics([session(1)])
    async with rig(api, details=False, token_ttl=600) as r:
        await r.source.poll()
        await r.clock.advance(300)
        await r.source.poll()
        await r.clock.advance(200)
        await r.source.poll()
    tokens = [request.headers["authorization"] for request in api.requests]
    assert tokens[0] == tokens[1] != tokens[2]


@pytest.mark.parametrize(
    ("session_id", "segment"),
    [
        ("RM_abc", "RM_abc"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("../../other", "%2E%2E%2F%2E%2E%2Fother"),
        ("a/b", "a%2Fb"),
        ("100%", "100%25"),
        ("%2F", "%252F"),
        ("a b", "a%20b"),
        ("?page=1#x", "%3Fpage%3D1%23x"),
        ("会议 ☕", "%E4%BC%9A%E8%AE%AE%20%E2%98%95"),
    ],
)
async def test_session_ids_cannot_leave_the_sessions_path(session_id: str, segment: str) -> None:
    """Any id from a response is one percent-encoded path segment under .../sessions/."""
    assert path_segment(session_id) == segment
    api = FakeAnalytics([session(1, sessionId=session_id)], {session_id: details()})
    async with rig(api) as r:
        snap = await r.source.poll()
    (request,) = [r for r in api.requests if r.url.raw_path.startswith(LIST_PATH.encode() + b"/")]
    assert request.url.raw_path.decode() == f"{LIST_PATH}/{segment}"
    assert request.url.host == "livekit.test"
    assert values(snap)["livekit_cloud_publishers"][(PROJECT, TARGET, "camera")] == 1


async def test_list_pages_wait_for_the_budget_instead_of_exceeding_it() -> None:
    """With a one-token bucket, the second list page waits one refill period on the clock."""
    api = FakeAnalytics([session(i) for i in range(3)])
    async with rig(api, details=False, page_size=2, requests_per_minute=60, poll_interval=1.0) as r:
        async with anyio.create_task_group() as tg:
            tg.start_soon(r.source.poll)
            await eventually(lambda: bool(r.clock.sleepers))
            assert len(api.requests) == 1
            assert r.clock.sleepers == [pytest.approx(r.clock.monotonic() + 1.0)]
            await r.clock.advance(1.0)
        assert len(api.requests) == 2


async def test_details_404_is_not_a_failed_poll() -> None:
    """A listed session whose details are gone (404) just has no details."""
    api = FakeAnalytics([session(1), session(2)], {"RM_0002": details()})
    async with rig(api) as r:
        got = values(await r.source.poll())
        assert r.requests("session_details", "404") == 1
    assert {key[2] for key in got["livekit_cloud_session_publishers"]} == {"RM_0002"}
