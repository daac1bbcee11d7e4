"""The simulated LiveKit Cloud Analytics API, as a plain ASGI application.

Serves ``GET /api/project/{project_id}/sessions[/]`` (offset pages: ``limit``, 0-based
``page``, ``start``/``end`` UTC dates with ``end`` exclusive and ``start`` at most 7 days
back) and ``GET /api/project/{project_id}/sessions/{session_id}`` (details; 404 when
unknown). Ids are percent-decoded exactly once; any other path is a 404. Every request needs
a valid HS256 token with the ``roomList`` grant, else 401. Error bodies are short plain
text: LiveKit's are not a stable format.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from urllib.parse import parse_qsl

from exporter.web.server import Receive, Scope, Send

from .asgi import (
    Exchange,
    Stopping,
    decode_segment,
    path_segments,
    record_request,
    status_phrase,
)
from .auth import TokenRejected, verify_livekit_token
from .fault_effects import JsonBody, before, send_json
from .faults import FaultBoard
from .livekit_encoding import encode_details, encode_list_item, livekit_style, snake_case
from .livekit_model import NS
from .livekit_world import LiveKitWorld
from .requestlog import RequestLog

__all__ = ["LiveKitApp"]

DEFAULT_LIMIT = 100
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
WINDOW_DAYS = 7
_TEXT = "text/plain; charset=utf-8"
_MALFORMED_SESSION: dict[str, object] = {
    "sessionId": 4242,
    "roomName": {"name": "not a string"},
    "createdAt": "yesterday",
    "bandwidthIn": "lots",
    "numParticipants": "three",
}
_MALFORMED_PARTICIPANT: dict[str, object] = {
    "participantIdentity": 7,
    "joinedAt": "later",
    "publishedSources": "camera",
}


class _BadRequest(Exception):
    pass


def _error(status: int) -> tuple[bytes, str]:
    return f"{status_phrase(status).lower()}\n".encode(), _TEXT


class LiveKitApp:
    """ASGI app over a :class:`LiveKitWorld`, with faults and a request log."""

    def __init__(
        self,
        *,
        world: LiveKitWorld,
        seed: int,
        project_id: str,
        api_key: str,
        api_secret: str,
        clock: Callable[[], float],
        faults: FaultBoard,
        log: RequestLog,
        stopping: Stopping,
        snake_case: bool = False,
        leeway: float = 60.0,
    ) -> None:
        self._world = world
        self._seed = seed
        self._project_id = project_id
        self._api_key = api_key
        self._api_secret = api_secret
        self._clock = clock
        self._faults = faults
        self._log = log
        self._stopping = stopping
        self._snake_case = snake_case
        self._leeway = leeway

    def _route(self, scope: Scope) -> tuple[str, str | None]:
        """``(endpoint, session_id)``; endpoint ``livekit.unknown`` for anything else."""
        segments = path_segments(scope)
        unknown = ("livekit.unknown", None)
        if (
            segments is None
            or len(segments) not in (5, 6)
            or segments[:3] != [b"", b"api", b"project"]
        ):
            return unknown
        if decode_segment(segments[3]) != self._project_id or segments[4] != b"sessions":
            return unknown
        if len(segments) == 5 or segments[5] == b"":
            return "livekit.list", None
        session_id = decode_segment(segments[5])
        return unknown if session_id is None else ("livekit.details", session_id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        endpoint, session_id = self._route(scope)
        record = record_request("livekit", endpoint, scope, self._clock())
        self._log.append(record)
        exchange = Exchange(
            scope, receive, send, record=record, log=self._log, stopping=self._stopping
        )
        if endpoint == "livekit.unknown":
            await exchange.respond(404, b"404 page not found\n", [("content-type", _TEXT)])
            return
        if scope["method"] not in ("GET", "HEAD"):
            await exchange.respond(405, b"method not allowed\n", [("content-type", _TEXT)])
            return
        fault = self._faults.take(endpoint)
        if fault is not None:
            record.fault = fault.describe()
            if not await before(exchange, fault, _error):
                return
        now = self._clock()
        try:
            verify_livekit_token(
                record.header("authorization"),
                api_key=self._api_key,
                api_secret=self._api_secret,
                now=now,
                leeway=self._leeway,
            )
        except TokenRejected as exc:
            await exchange.respond(
                401, f"unauthorized: {exc}\n".encode(), [("content-type", _TEXT)]
            )
            return
        try:
            body = (
                self._list(bytes(scope.get("query_string", b"")), now)
                if session_id is None
                else self._details(session_id, now)
            )
        except _BadRequest as exc:
            await exchange.respond(400, f"{exc}\n".encode(), [("content-type", _TEXT)])
            return
        if body is None:
            await exchange.respond(404, b"session not found\n", [("content-type", _TEXT)])
            return
        if self._snake_case:
            body.payload = snake_case(body.payload)
        await send_json(exchange, body, fault)

    def _list(self, query: bytes, now: float) -> JsonBody:
        params: dict[str, str] = {}
        for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            params.setdefault(key, value)  # Go's Query().Get: the first value
        limit = _integer(params, "limit", DEFAULT_LIMIT, minimum=1)
        page = _integer(params, "page", 0, minimum=0)
        today = dt.datetime.fromtimestamp(now, tz=dt.UTC).date()
        start = _date(params, "start")
        if start is not None and (today - start).days > WINDOW_DAYS:
            raise _BadRequest("start date must be within 7 days of the current date")
        end = _date(params, "end")
        since = start if start is not None else today - dt.timedelta(days=WINDOW_DAYS)
        truths = self._world.page(
            int(now * NS),
            since_ns=_midnight_ns(since),
            until_ns=None if end is None else _midnight_ns(end),
            offset=page * limit,
            limit=limit,
        )
        items: list[object] = [
            encode_list_item(t, livekit_style(self._seed, t.session_id)) for t in truths
        ]
        # protobuf JSON leaves an empty repeated field out: an empty page is "{}"
        payload: dict[str, object] = {"sessions": items} if items else {}
        return JsonBody(payload, "sessions", dict(_MALFORMED_SESSION))

    def _details(self, session_id: str, now: float) -> JsonBody | None:
        truth = self._world.session(session_id, at=now)
        if truth is None:
            return None
        payload = encode_details(truth, livekit_style(self._seed, truth.session_id))
        return JsonBody(payload, "participants", dict(_MALFORMED_PARTICIPANT))


def _integer(params: dict[str, str], name: str, default: int, *, minimum: int) -> int:
    text = params.get(name)
    if text is None or text == "":
        return default
    if not text.isascii() or not text.lstrip("-").isdigit() or int(text) < minimum:
        raise _BadRequest(f"invalid {name}: {text!r}")
    return int(text)


def _date(params: dict[str, str], name: str) -> dt.date | None:
    text = params.get(name)
    if not text:
        return None
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _BadRequest(f"invalid {name} date {text!r}: use YYYY-MM-DD") from None


def _midnight_ns(day: dt.date) -> int:
    moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return int(moment.timestamp()) * NS
