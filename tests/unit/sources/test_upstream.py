"""The instrumented upstream client: counting and timing each attempt, body cap, typed errors."""

from __future__ import annotations

import gzip
from collections.abc import AsyncGenerator, AsyncIterator

import anyio
import httpx
import pytest
from prometheus_client import CollectorRegistry

from exporter.errors import AuthError, PayloadError, RateLimitedError, UpstreamError
from exporter.exposition.self_metrics import SelfMetrics, TargetTelemetry
from exporter.sources.upstream import (
    MAX_RETRY_AFTER,
    Response,
    UpstreamClient,
    decode_json,
    error_for_status,
    parse_retry_after,
)

pytestmark = pytest.mark.anyio
NOW = 1_800_000_000.0


def telemetry() -> tuple[CollectorRegistry, TargetTelemetry]:
    registry = CollectorRegistry()
    return registry, SelfMetrics(registry).target("livepeer_studio", "default", "default")


def requests(registry: CollectorRegistry, code: str) -> float | None:
    return registry.get_sample_value(
        "livesession_exporter_api_requests_total",
        {
            "source": "livepeer_studio",
            "target": "default",
            "endpoint": "list_sessions",
            "code": code,
        },
    )


def client(
    handler: httpx.MockTransport, tel: TargetTelemetry, max_body_bytes: int = 1 << 20
) -> UpstreamClient:
    return UpstreamClient(httpx.AsyncClient(transport=handler), tel, max_body_bytes=max_body_bytes)


def seconds(registry: CollectorRegistry, stat: str) -> float | None:
    """``count`` or ``sum`` of the request-duration histogram of list_sessions."""
    return registry.get_sample_value(
        f"livesession_exporter_api_request_duration_seconds_{stat}",
        {"source": "livepeer_studio", "target": "default", "endpoint": "list_sessions"},
    )


class RetryOn401(httpx.Auth):
    """An auth flow like LiveKit's: it retries once after a 401, after ``pause`` seconds."""

    def __init__(self, pause: float = 0.0) -> None:
        self.pause = pause

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await anyio.sleep(self.pause)
        response = yield request
        if response.status_code == 401:
            await anyio.sleep(self.pause)
            yield request


async def test_success_is_counted_timed_and_returned() -> None:
    """A 200 comes back whole, counted under its code and observed in the histogram."""
    registry, tel = telemetry()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[{"id": "a"}])

    up = client(httpx.MockTransport(handler), tel)
    resp = await up.get(
        "list_sessions", "http://x/api/session", params={"limit": 5}, headers={"a": "b"}
    )
    assert resp.status == 200
    assert decode_json(resp.body, "list_sessions") == [{"id": "a"}]
    assert seen[0].url.params["limit"] == "5"
    assert seen[0].headers["a"] == "b"
    assert requests(registry, "200") == 1
    count = registry.get_sample_value(
        "livesession_exporter_api_request_duration_seconds_count",
        {"source": "livepeer_studio", "target": "default", "endpoint": "list_sessions"},
    )
    assert count == 1


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (httpx.ConnectTimeout("t"), "timeout"),
        (httpx.ReadTimeout("t"), "timeout"),
        (httpx.ConnectError("refused"), "connection"),
        (httpx.ReadError("reset"), "connection"),
        (httpx.RemoteProtocolError("closed"), "connection"),
    ],
)
async def test_transport_failures_become_typed_errors(exc: Exception, reason: str) -> None:
    """Timeouts and connection failures raise UpstreamError and count as code 'error'."""
    registry, tel = telemetry()

    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    with pytest.raises(UpstreamError) as info:
        await client(httpx.MockTransport(handler), tel).get("list_sessions", "http://x/")
    assert info.value.reason == reason
    assert requests(registry, "error") == 1


async def test_declared_oversized_body_is_refused() -> None:
    """A Content-Length over the cap fails the request before reading the body."""
    registry, tel = telemetry()
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=b"x" * 101))
    with pytest.raises(PayloadError, match="over the 100 cap"):
        await client(transport, tel, max_body_bytes=100).get("list_sessions", "http://x/")
    assert requests(registry, "200") == 1


async def test_streamed_oversized_body_is_cut_off() -> None:
    """An endless chunked body is abandoned as soon as it passes the cap."""
    _, tel = telemetry()
    produced = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal produced
        while True:
            produced += 1
            yield b"y" * 64

    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=endless()))
    with pytest.raises(PayloadError, match="over the 1000-byte cap"):
        await client(transport, tel, max_body_bytes=1000).get("list_sessions", "http://x/")
    assert produced < 20


async def test_error_messages_carry_no_body() -> None:
    """A 401 body that echoes the key never reaches the error message."""
    _, tel = telemetry()
    body = b'{"errors":["no token secret-key-123 found"]}'
    up = client(httpx.MockTransport(lambda r: httpx.Response(401, content=body)), tel)
    resp = await up.get("list_sessions", "http://x/")
    error = error_for_status(resp, "list_sessions", NOW)
    assert isinstance(error, AuthError)
    assert "secret-key-123" not in str(error)
    assert str(error) == "list_sessions: HTTP 401"


@pytest.mark.parametrize(
    ("status", "kind", "reason"),
    [
        (401, AuthError, "auth"),
        (403, AuthError, "auth"),
        (429, RateLimitedError, "rate_limited"),
        (500, UpstreamError, "server_error"),
        (503, UpstreamError, "server_error"),
        (400, UpstreamError, "client_error"),
        (404, UpstreamError, "client_error"),
        (302, UpstreamError, "client_error"),
    ],
)
def test_status_maps_to_reason(status: int, kind: type[Exception], reason: str) -> None:
    """Each non-2xx status maps to the reason label of the metric contract."""
    error = error_for_status(Response(status, httpx.Headers(), b""), "list_sessions", NOW)
    assert isinstance(error, kind)
    assert error.reason == reason


def test_success_has_no_error() -> None:
    """2xx is not an error."""
    assert error_for_status(Response(204, httpx.Headers(), b""), "list_sessions", NOW) is None


def test_429_carries_retry_after() -> None:
    """Retry-After on a 429 (and a 503) travels with the error to the poller."""
    headers = httpx.Headers({"retry-after": "7"})
    error = error_for_status(Response(429, headers, b""), "session_details", NOW)
    assert error is not None
    assert error.retry_after == 7
    error = error_for_status(Response(503, headers, b""), "session_details", NOW)
    assert error is not None
    assert error.retry_after == 7


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("120", 120.0),
        ("  5 ", 5.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past: retry now
        ("999999", MAX_RETRY_AFTER),
        ("soon", None),
        ("", None),
        (None, None),
        ("Wed, 21 Oct 2015 07:28:00", None),  # no zone: not an HTTP-date
    ],
)
def test_retry_after_forms(value: str | None, seconds: float | None) -> None:
    """Delta-seconds and HTTP-dates parse, capped; junk is ignored."""
    assert parse_retry_after(value, NOW) == seconds


def test_retry_after_http_date_in_the_future() -> None:
    """An HTTP-date is converted to seconds from now."""
    assert parse_retry_after("Fri, 15 Jan 2027 08:00:30 GMT", 1_800_000_000.0) == 30.0


def test_invalid_json_is_a_payload_error() -> None:
    """A body that is not JSON raises PayloadError naming the endpoint."""
    with pytest.raises(PayloadError, match="list_sessions: body is not valid JSON at \\$"):
        decode_json(b"{nope", "list_sessions")


async def test_each_attempt_of_a_retrying_auth_flow_is_counted_and_timed() -> None:
    """A GET that an auth flow retries counts two requests, each under its own code."""
    registry, tel = telemetry()
    answers = iter([httpx.Response(401, text="again"), httpx.Response(200, json=[])])
    up = client(httpx.MockTransport(lambda request: next(answers)), tel)
    resp = await up.get("list_sessions", "http://x/", auth=RetryOn401())
    assert (resp.status, resp.body) == (200, b"[]")
    assert (requests(registry, "401"), requests(registry, "200")) == (1, 1)
    assert seconds(registry, "count") == 2


async def test_a_retry_that_gets_no_answer_counts_as_error() -> None:
    """The first attempt counts under its status, the retry that failed as ``error``."""
    registry, tel = telemetry()

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if len(sent) > 1:
            raise httpx.ConnectError("refused")
        return httpx.Response(401)

    sent: list[httpx.Request] = []

    with pytest.raises(UpstreamError, match="connection"):
        await client(httpx.MockTransport(answer), tel).get(
            "list_sessions", "http://x/", auth=RetryOn401()
        )
    assert (requests(registry, "401"), requests(registry, "error")) == (1, 1)


async def test_time_runs_from_sending_to_the_end_of_the_body() -> None:
    """An attempt is timed from sending its request to the last byte of its body; what an
    auth flow waits before sending is not part of it."""
    registry, tel = telemetry()

    async def slow_body() -> AsyncIterator[bytes]:
        await anyio.sleep(0.05)
        yield b"[]"

    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=slow_body()))
    await client(transport, tel).get("list_sessions", "http://x/", auth=RetryOn401(pause=0.5))
    total = seconds(registry, "sum")
    assert total is not None
    assert 0.05 <= total < 0.5


async def test_a_retried_answer_is_read_within_the_cap() -> None:
    """The body of an answer an auth flow retries is read within the cap as well."""
    registry, tel = telemetry()

    async def endless() -> AsyncIterator[bytes]:
        while True:
            yield b"z" * 64

    answers = iter([httpx.Response(401, content=endless()), httpx.Response(200)])
    up = client(httpx.MockTransport(lambda request: next(answers)), tel, max_body_bytes=1000)
    with pytest.raises(PayloadError, match="over the 1000-byte cap"):
        await up.get("list_sessions", "http://x/", auth=RetryOn401())
    assert (requests(registry, "401"), requests(registry, "200")) == (1, None)


async def test_compressed_bodies_are_decoded_once() -> None:
    """A gzip body, of a retried answer and of the last one, is decoded exactly once."""
    _, tel = telemetry()
    zipped = {"content-encoding": "gzip"}
    answers = iter(
        [
            httpx.Response(401, content=gzip.compress(b"no"), headers=zipped),
            httpx.Response(200, content=gzip.compress(b'[{"id": "a"}]'), headers=zipped),
        ]
    )
    up = client(httpx.MockTransport(lambda request: next(answers)), tel)
    resp = await up.get("list_sessions", "http://x/", auth=RetryOn401())
    assert resp.body == b'[{"id": "a"}]'
