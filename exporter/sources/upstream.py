"""HTTP to an upstream API: instrumented GETs, capped bodies, errors typed by status.

Every request a source makes goes through :class:`UpstreamClient`, so each HTTP attempt (a
GET that an auth flow retries after a 401 makes two) is counted in ``api_requests_total`` and
timed in ``api_request_duration_seconds``, from sending its request to the end of reading its
body, whatever its outcome; an attempt that gets no response counts as ``code="error"``.
Bodies are cut off at :data:`MAX_BODY_BYTES` while they stream (an endless body costs one poll
and bounded memory); a gzip or deflate body is inflated here, a step of at most
:data:`_STEP` bytes at a time, and counted after inflating, so a small compressed body that
expands a thousandfold (a "gzip bomb") stops at the cap too, never holding more than it.
Transport failures become :class:`~exporter.errors.SourceError` with the reason
:func:`~exporter.sources.transport.unreachable` tells. Messages name the endpoint, status and
host only: bodies may echo credentials.
"""

from __future__ import annotations

import email.utils
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

import httpx
import msgspec

from exporter.errors import AuthError, PayloadError, RateLimitedError, SourceError, UpstreamError
from exporter.sources.transport import unreachable

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_RETRY_AFTER",
    "RequestRecorder",
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
_CALL: Final = "livesession_exporter.call"
"""The request extension that ties each attempt to its :class:`_Call`."""
_ENCODINGS: Final = "gzip, deflate"
"""The content codings asked for: the ones :class:`_Inflater` decodes within the cap."""
_STEP: Final = 1024 * 1024
"""Most bytes one inflating step produces (zlib's ``max_length``)."""


class RequestRecorder(Protocol):
    """Where each request is counted and timed (a target's self-metrics)."""

    def request(self, endpoint: str, code: str, seconds: float) -> None:
        """One upstream HTTP request finished (``code`` = status, or ``error``)."""


@dataclass(frozen=True, slots=True)
class Response:
    """A complete upstream response: status, headers and the (capped) body."""

    status: int
    headers: httpx.Headers
    body: bytes


class _Call:
    """One GET: the attempt in flight, and the body of the last one that answered."""

    __slots__ = ("body", "endpoint", "started")

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.started: float | None = None
        """When the attempt in flight was sent; None between attempts."""
        self.body = b""


class UpstreamClient:
    """GETs against one upstream for one target, on a long-lived ``httpx.AsyncClient``.

    It adds two event hooks to the client, which see every attempt of a GET: one notes when
    its request is sent, the other reads its body (within the cap) as soon as it answers and
    records it. So a retry inside httpx (an ``httpx.Auth`` flow's) is counted like any other
    attempt, and the body it throws away is read within the cap too.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        telemetry: RequestRecorder,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._client = client
        self._telemetry = telemetry
        self._max = max_body_bytes
        hooks = client.event_hooks
        client.event_hooks = {
            "request": [*hooks.get("request", []), self._sending],
            "response": [*hooks.get("response", []), self._answered],
        }

    async def get(
        self,
        endpoint: str,
        url: httpx.URL | str,
        *,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | None = None,
    ) -> Response:
        """Send one GET and read its body; raise UpstreamError/PayloadError on failure."""
        call = _Call(endpoint)
        try:
            resp = await self._client.get(
                url, params=params, headers=headers, auth=auth, extensions={_CALL: call}
            )
        except (
            httpx.TimeoutException,
            httpx.NetworkError,
            httpx.RemoteProtocolError,
            httpx.ProxyError,
        ) as exc:
            raise unreachable(exc, endpoint) from None
        finally:
            self._finish(call, "error")  # an attempt that got no response, if any
        return Response(resp.status_code, resp.headers, call.body)

    async def _sending(self, request: httpx.Request) -> None:
        call = request.extensions.get(_CALL)
        if isinstance(call, _Call):
            request.headers["accept-encoding"] = _ENCODINGS
            call.started = time.perf_counter()

    async def _answered(self, resp: httpx.Response) -> None:
        """Read the body of an attempt that answered, then hand httpx an empty stream in its
        place: httpx reads the body of a response an auth flow retries, and must not decode
        it a second time, nor without the cap."""
        call = resp.request.extensions.get(_CALL)
        if not isinstance(call, _Call):
            return
        reader = httpx.Response(
            resp.status_code, headers=resp.headers, stream=resp.stream, request=resp.request
        )
        resp.stream = httpx.ByteStream(b"")
        try:
            call.body = await self._read(reader, call.endpoint)
        finally:
            await reader.aclose()
            self._finish(call, str(resp.status_code))

    async def _read(self, resp: httpx.Response, endpoint: str) -> bytes:
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max:
            raise PayloadError(f"{endpoint}: body of {declared} bytes is over the {self._max} cap")
        layers = _Inflater.layers(resp.headers.get("content-encoding", ""), endpoint)
        chunks: list[bytes] = []
        size = 0
        async for raw in resp.aiter_raw():
            for chunk in _Inflater.through(layers, raw):
                size += len(chunk)
                if size > self._max:
                    raise PayloadError(f"{endpoint}: body is over the {self._max}-byte cap")
                chunks.append(chunk)
        return b"".join(chunks)

    def _finish(self, call: _Call, code: str) -> None:
        if call.started is not None:
            self._telemetry.request(call.endpoint, code, time.perf_counter() - call.started)
            call.started = None


class _Inflater:
    """Undoes one content coding (gzip or deflate) in bounded steps.

    httpx's own decoder inflates each network read whole: 64 KiB of zeros compressed a
    thousandfold become 64 MiB at once, before any cap can look. Here zlib's ``max_length``
    limits every step to :data:`_STEP` bytes, and the caller counts each one against the cap.
    """

    __slots__ = ("_endpoint", "_raw_next", "_zlib")

    def __init__(self, coding: str, endpoint: str) -> None:
        self._endpoint = endpoint
        if coding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif coding == "deflate":
            self._zlib = zlib.decompressobj()
        else:
            raise PayloadError(f"{endpoint}: unsupported content encoding")
        self._raw_next = coding == "deflate"
        """Whether a first step that fails is retried as raw deflate: "deflate" is
        zlib-wrapped by the RFC, but raw from some servers (httpx accepts both too)."""

    @classmethod
    def layers(cls, encoding: str, endpoint: str) -> tuple[_Inflater, ...]:
        """One inflater per coding of a ``Content-Encoding``, the last applied first."""
        codings = [coding.strip().lower() for coding in encoding.split(",")]
        return tuple(cls(c, endpoint) for c in reversed(codings) if c not in ("", "identity"))

    @staticmethod
    def through(layers: Iterable[_Inflater], data: bytes) -> Iterator[bytes]:
        """``data`` decoded by every layer in turn, each piece at most :data:`_STEP` bytes."""
        pieces: Iterator[bytes] = iter((data,))
        for layer in layers:
            pieces = layer._inflate(pieces)
        return pieces

    def _inflate(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        for data in pieces:
            yield from self._feed(data)

    def _feed(self, data: bytes) -> Iterator[bytes]:
        while not self._zlib.eof:
            try:
                piece = self._zlib.decompress(data, _STEP)
            except zlib.error:
                if not self._raw_next:
                    raise PayloadError(f"{self._endpoint}: undecodable content encoding") from None
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                self._raw_next = False
                continue
            self._raw_next = False
            if piece:
                yield piece
            data = self._zlib.unconsumed_tail
            if not data and len(piece) < _STEP:
                return


def error_for_status(resp: Response, endpoint: str, now: float) -> SourceError | None:
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


def decode_json(body: bytes, endpoint: str) -> object:
    """Parse a JSON body into plain Python values, or raise PayloadError."""
    try:
        return msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):  # JSON is UTF-8 (RFC 8259)
        raise PayloadError(f"{endpoint}: body is not valid JSON") from None
