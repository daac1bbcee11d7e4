"""The request prelude both simulated APIs run before answering, as one ASGI base class.

Every request to either fake API goes through the same steps in the same order: it is
routed (a path naming no resource is still logged, as endpoint ``<api>.unknown``), recorded
in the request log as it arrived, refused with 404 if it names no resource or 405 if it is
not a GET or HEAD, then the fault set on its endpoint is used up and applied (latency,
hangs, dropped connections and error statuses all come ahead of authentication, as an edge
proxy or a rate limiter would answer), and its credentials are checked, which also picks
the world (the project) they may see. Only then does the API's own :meth:`FakeApi.answer`
run, over that world. Each API brings its paths, its error format, its credential check and
its answers: :mod:`exporter.simulator.livekit.app` and
:mod:`exporter.simulator.livepeer.app`.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Generic, NamedTuple, TypeVar
from urllib.parse import unquote_to_bytes

from exporter.web.server import Receive, Scope, Send

from .asgi import Exchange, Stopping, record_request, status_phrase
from .fault_effects import before
from .faults import Fault, FaultBoard
from .requestlog import RecordedRequest, RequestLog

__all__ = [
    "AppContext",
    "FakeApi",
    "Refusal",
    "Route",
    "decode_segment",
    "path_segments",
    "resource_route",
]

W = TypeVar("W")


@dataclass(frozen=True, slots=True)
class AppContext:
    """What the apps of one simulator share: the clock, faults, request log and stop signal."""

    clock: Callable[[], float]
    faults: FaultBoard
    log: RequestLog
    stopping: Stopping


class Route(NamedTuple):
    """A known endpoint (``livekit.list``...) and the decoded id its path names, if any.

    ``project`` is the decoded project id the path names, for an API whose paths name one.
    """

    endpoint: str
    resource_id: str | None
    project: str | None = None


class Refusal(NamedTuple):
    """Why a request's credentials may not call its route: a status and a message."""

    status: int
    message: str


def path_segments(scope: Scope) -> list[bytes] | None:
    """The raw path split at ``/``; None if a segment is ``.`` or ``..``.

    A literal dot segment would name another path once normalised, so it never reaches a
    resource: clients must percent-encode such ids (``%2E%2E``).
    """
    raw = scope.get("raw_path") or str(scope.get("path", "")).encode()
    segments = bytes(raw).split(b"/")
    if any(seg in (b".", b"..") for seg in segments):
        return None
    return segments


def decode_segment(segment: bytes) -> str | None:
    """One path segment percent-decoded exactly once, as UTF-8; None if malformed."""
    try:
        return unquote_to_bytes(segment).decode("utf-8")
    except UnicodeDecodeError:
        return None


def resource_route(scope: Scope, depth: int) -> tuple[list[bytes], str | None] | None:
    """A collection path of ``depth`` raw segments, or one of its items: ``(prefix, id)``.

    ``id`` is None for the collection itself (with or without a trailing slash), else the
    item's segment decoded once. None for any other shape, a dot segment or an id that is
    not UTF-8 once decoded. The caller checks the prefix, raw or decoded as its API does.
    """
    segments = path_segments(scope)
    if segments is None or len(segments) not in (depth, depth + 1):
        return None
    if len(segments) == depth or segments[depth] == b"":
        return segments[:depth], None
    resource_id = decode_segment(segments[depth])
    return None if resource_id is None else (segments[:depth], resource_id)


class FakeApi(abc.ABC, Generic[W]):
    """An ASGI app over worlds ``W`` that runs the shared prelude, then :meth:`answer`.

    A request's credentials pick the world it sees (:meth:`authenticate`): one per project.
    """

    api: ClassVar[str]
    """``livekit`` or ``livepeer``: the log's ``api`` and the prefix of endpoint names."""
    not_found: ClassVar[str]
    """The message of the 404 answered to a path that names no resource."""

    def __init__(self, context: AppContext) -> None:
        self._context = context
        self._clock = context.clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        route = self.route(scope)
        endpoint = f"{self.api}.unknown" if route is None else route.endpoint
        context = self._context
        record = record_request(self.api, endpoint, scope, self._clock())
        context.log.append(record)
        exchange = Exchange(
            scope, receive, send, record=record, log=context.log, stopping=context.stopping
        )
        if route is None:
            await self.fail(exchange, 404, self.not_found)
            return
        if scope["method"] not in ("GET", "HEAD"):
            await self.fail(exchange, 405, "method not allowed")
            return
        fault = context.faults.take(endpoint)
        if fault is not None:
            record.fault = fault.describe()
            if not await before(exchange, fault, self.status_error):
                return
        now = self._clock()
        granted = self.authenticate(record, route, now)
        if isinstance(granted, Refusal):
            await self.fail(exchange, *granted)
            return
        await self.answer(exchange, route, granted, fault, now)

    async def fail(self, exchange: Exchange, status: int, message: str) -> None:
        """Answer ``status`` with ``message`` in the API's error format."""
        body, content_type = self.error(message)
        await exchange.respond(status, body, [("content-type", content_type)])

    def status_error(self, status: int) -> tuple[bytes, str]:
        """The body and content type of an injected error status: its reason phrase."""
        return self.error(status_phrase(status))

    @abc.abstractmethod
    def route(self, scope: Scope) -> Route | None:
        """The endpoint a request's path names, or None if it names no resource."""

    @abc.abstractmethod
    def error(self, message: str) -> tuple[bytes, str]:
        """An error body in the API's format, and its content type."""

    @abc.abstractmethod
    def authenticate(self, record: RecordedRequest, route: Route, now: float) -> W | Refusal:
        """The world the credentials of ``record`` may see through ``route``, or a refusal."""

    @abc.abstractmethod
    async def answer(
        self, exchange: Exchange, route: Route, world: W, fault: Fault | None, now: float
    ) -> None:
        """Answer an authenticated request from ``world``; ``fault`` distorts the 200 body."""
