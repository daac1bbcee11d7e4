"""HTTP to an upstream API: one instrumented GET, a capped body, errors typed by status.

Every request a source makes goes through :class:`UpstreamClient`, so each one is counted in
``api_requests_total`` and timed in ``api_request_duration_seconds`` whatever its outcome, the
body is cut off at :data:`MAX_BODY_BYTES` while it streams (an endless body costs one poll and
bounded memory), and transport failures become :class:`~exporter.errors.SourceError`.
Messages name the endpoint and status only: bodies may echo credentials.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

import httpx
import msgspec

from exporter.errors import AuthError, PayloadError, RateLimitedError, SourceError, UpstreamError
from exporter.exposition.self_metrics import Endpoint, TargetTelemetry

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_RETRY_AFTER",
    "Response",
    "UpstreamClient",
    "decode_json",
    "error_for_status",
    "parse_retry_after",
]

MAX_BODY_BYTES: Final = 32 * 1024 * 1024
"""Largest upstream body read; 10,000 sessions of either API fit in well under a third."""
MAX_RETRY_AFTER: Final = 600.0
"""Longest ``Retry-After`` honoured, so one odd header cannot silence a target for days."""


@dataclass(frozen=True, slots=True)
class Response:
    """A complete upstream response: status, headers and the (capped) body."""

    status: int
    headers: httpx.Headers
    body: bytes


class UpstreamClient:
    """GETs against one upstream for one target, on a long-lived ``httpx.AsyncClient``."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        telemetry: TargetTelemetry,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._client = client
        self._telemetry = telemetry
        self._max = max_body_bytes
        self._timer = timer

    async def get(
        self,
        endpoint: Endpoint,
        url: httpx.URL | str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Send one GET and read its body; raise UpstreamError/PayloadError on failure."""
        started = self._timer()
        code = "error"
        try:
            async with self._client.stream("GET", url, params=params, headers=headers) as resp:
                code = str(resp.status_code)
                body = await self._read(resp, endpoint)
                return Response(resp.status_code, resp.headers, body)
        except httpx.TimeoutException:
            raise UpstreamError(f"{endpoint}: request timed out", reason="timeout") from None
        except (httpx.NetworkError, httpx.RemoteProtocolError, httpx.ProxyError) as exc:
            name = type(exc).__name__
            raise UpstreamError(
                f"{endpoint}: connection failed ({name})", reason="connection"
            ) from None
        except httpx.DecodingError:
            raise PayloadError(f"{endpoint}: undecodable content encoding") from None
        finally:
            self._telemetry.request(endpoint, code, self._timer() - started)

    async def _read(self, resp: httpx.Response, endpoint: Endpoint) -> bytes:
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max:
            raise PayloadError(f"{endpoint}: body of {declared} bytes is over the {self._max} cap")
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > self._max:
                raise PayloadError(f"{endpoint}: body is over the {self._max}-byte cap")
            chunks.append(chunk)
        return b"".join(chunks)


def error_for_status(resp: Response, endpoint: Endpoint, now: float) -> SourceError | None:
    """The typed error for a non-2xx status, or None; ``now`` is wall time for HTTP dates."""
    status = resp.status
    if 200 <= status < 300:
        return None
    retry_after = parse_retry_after(resp.headers.get("retry-after"), now)
    message = f"{endpoint}: HTTP {status}"
    if status in (401, 403):
        return AuthError(message)
    if status == 429:
        return RateLimitedError(message, retry_after=retry_after)
    if status >= 500:
        return UpstreamError(message, reason="server_error", retry_after=retry_after)
    return UpstreamError(message, reason="client_error")


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), capped."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - now
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def decode_json(body: bytes, endpoint: Endpoint) -> object:
    """Parse a JSON body into plain Python values, or raise PayloadError."""
    try:
        return msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):  # JSON is UTF-8 (RFC 8259)
        raise PayloadError(f"{endpoint}: body is not valid JSON") from None
