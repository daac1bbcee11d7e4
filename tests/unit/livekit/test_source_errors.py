"""The LiveKit source's failures over a fake Analytics API: token re-mint on 401, the
Scale-plan answer, every error reason, details errors, and what never reaches the logs."""

from __future__ import annotations

import httpx
import pytest
from structlog.testing import capture_logs

from exporter.errors import AuthError, PayloadError, RateLimitedError, SourceError, UpstreamError
from exporter.sources.livekit.client import PLAN_HINT
from tests.unit.livekit.fake_api import API_SECRET, FakeAnalytics, details, rig, session, values

pytestmark = pytest.mark.anyio


async def test_a_401_remints_the_token_and_retries_once() -> None:
    """A token the server no longer accepts is replaced once and the request retried."""
    api = FakeAnalytics([session(1)])
    async with rig(api, details=False) as r:
        await r.poll()
        first = api.requests[0].headers["authorization"].removeprefix("Bearer ")
        api.revoked.add(first)
        await r.clock.advance(1.0)
        snap = await r.poll()
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
            await r.poll()
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
            await r.poll()
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
            await r.poll()
    assert caught.value.reason == reason


async def test_429_fails_the_poll_with_its_retry_after() -> None:
    """A 429 is rate_limited and hands its Retry-After to the poller."""
    api = FakeAnalytics([session(1)])
    api.faults = [lambda request: httpx.Response(429, headers={"retry-after": "42"})]
    async with rig(api) as r:
        with pytest.raises(RateLimitedError) as caught:
            await r.poll()
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
            await r.poll()
        assert r.requests("list_sessions", "error") == 1
    assert caught.value.reason == reason


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
            await r.poll()
    assert caught.value.retry_after == 5.0


async def test_a_details_5xx_fails_the_poll_but_keeps_the_details_fetched() -> None:
    """A server error on details fails the poll; details fetched before it serve later."""
    api = FakeAnalytics([session(0), session(1)], {"RM_0000": details(), "RM_0001": details()})
    api.faults = [
        lambda request: httpx.Response(502) if request.url.path.endswith("RM_0001") else None
    ]
    async with rig(api) as r:
        with pytest.raises(UpstreamError) as caught:
            await r.poll()
        assert caught.value.reason == "server_error"
        got = values(await r.poll())
    assert len(got["livekit_cloud_session_publishers"]) == 8


async def test_secrets_and_tokens_never_reach_logs_or_errors() -> None:
    """Across successes and failures, no log event or error text holds the secret or a token."""
    api = FakeAnalytics([session(1), {"sessionId": 1}], {"RM_0001": {"participants": 1}})
    async with rig(api) as r:
        with capture_logs() as logs:
            await r.poll()
            api.faults = [lambda request: httpx.Response(401, text=API_SECRET)] * 2
            with pytest.raises(AuthError) as caught:
                await r.poll()
    tokens = {request.headers["authorization"].split()[1] for request in api.requests}
    text = repr(logs) + str(caught.value)
    assert API_SECRET not in text
    assert not any(token in text for token in tokens)
