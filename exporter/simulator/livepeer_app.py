"""The simulated Livepeer Studio API (``GET /api/session``), as a plain ASGI application.

The list is a bare JSON array; the next page exists only as a ``Link: <…>; rel="next"``
header whose origin is Studio's internal one, not the request's (read the cursor, not the
host). A page is followed by a link only when it is full, so a full last page leads to one
more request answered with ``[]``. ``GET /api/session/{id}`` serves one session (no
``parentStream``: only the list joins it in). Errors are ``{"errors": [...]}``, and the
401 for an unknown key echoes the key, as Studio's does.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

from exporter.web.server import Receive, Scope, Send

from .asgi import (
    Exchange,
    Stopping,
    decode_segment,
    path_segments,
    record_request,
    status_phrase,
)
from .auth import check_livepeer_key
from .fault_effects import JsonBody, before, encode_json, send_json
from .faults import FaultBoard
from .livepeer_encoding import encode_session, livepeer_floats
from .livepeer_filters import sort_sessions
from .livepeer_query import QueryError, SessionQuery, next_link, parse_session_query
from .livepeer_truth import LivepeerSessionTruth
from .livepeer_world import LivepeerWorld
from .requestlog import RequestLog

__all__ = ["LivepeerApp"]

_JSON = "application/json; charset=utf-8"
_MALFORMED: dict[str, object] = {
    "id": 4242,
    "name": ["not", "a", "string"],
    "lastSeen": "recently",
    "createdAt": None,
    "sourceBytes": {"bytes": 1},
    "isHealthy": "yes",
}


def _error(status: int) -> tuple[bytes, str]:
    return encode_json({"errors": [status_phrase(status)]}), _JSON


class LivepeerApp:
    """ASGI app over a :class:`LivepeerWorld`, with faults and a request log."""

    def __init__(
        self,
        *,
        world: LivepeerWorld,
        seed: int,
        api_key: str,
        cors_api_key: str | None,
        clock: Callable[[], float],
        faults: FaultBoard,
        log: RequestLog,
        stopping: Stopping,
        link_origin: str,
    ) -> None:
        self._world = world
        self._seed = seed
        self._api_key = api_key
        self._cors_api_key = cors_api_key
        self._clock = clock
        self._faults = faults
        self._log = log
        self._stopping = stopping
        self._link_origin = link_origin.rstrip("/")

    @staticmethod
    def _route(scope: Scope) -> tuple[str, str | None]:
        segments = path_segments(scope)
        if (
            segments is None
            or len(segments) not in (3, 4)
            or segments[:3] != [b"", b"api", b"session"]
        ):
            return "livepeer.unknown", None
        if len(segments) == 3 or segments[3] == b"":
            return "livepeer.list", None
        session_id = decode_segment(segments[3])
        return ("livepeer.unknown", None) if session_id is None else ("livepeer.get", session_id)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        endpoint, session_id = self._route(scope)
        record = record_request("livepeer", endpoint, scope, self._clock())
        self._log.append(record)
        exchange = Exchange(
            scope, receive, send, record=record, log=self._log, stopping=self._stopping
        )
        if endpoint == "livepeer.unknown":
            await self._fail(exchange, 404, "not found")
            return
        if scope["method"] not in ("GET", "HEAD"):
            await self._fail(exchange, 405, "method not allowed")
            return
        fault = self._faults.take(endpoint)
        if fault is not None:
            record.fault = fault.describe()
            if not await before(exchange, fault, _error):
                return
        refused = check_livepeer_key(
            record.header("authorization"),
            api_key=self._api_key,
            user_id=self._world.user_id,
            cors_key=self._cors_api_key,
            cors_allowed=endpoint == "livepeer.get",
        )
        if refused is not None:
            await self._fail(exchange, *refused)
            return
        now = self._clock()
        now_ms = self._world.now_ms(now)
        if session_id is not None:
            truth = self._world.session(session_id, at=now)
            if truth is None:
                await self._fail(exchange, 404, "not found")
                return
            payload = encode_session(truth, livepeer_floats(self._seed, truth.id))
            del payload["parentStream"]
            await send_json(exchange, JsonBody(payload, "", dict(_MALFORMED), _JSON), fault)
            return
        query_string = bytes(scope.get("query_string", b""))
        try:
            query = parse_session_query(query_string)
        except QueryError as exc:
            await self._fail(exchange, exc.status, exc.message)
            return
        page, total = self._select(query, now_ms)
        headers: list[tuple[str, str]] = []
        if len(page) == query.limit:
            raw_path = bytes(scope.get("raw_path") or b"/api/session")
            link = next_link(
                self._link_origin, raw_path, query_string, f"skip{query.offset + query.limit}"
            )
            headers.append(("link", f'<{link}>; rel="next"'))
        if total is not None and page:
            headers.append(("x-total-count", str(total)))
        items: list[object] = [encode_session(t, livepeer_floats(self._seed, t.id)) for t in page]
        await send_json(
            exchange, JsonBody(items, None, dict(_MALFORMED), _JSON), fault, tuple(headers)
        )

    def _select(
        self, query: SessionQuery, now_ms: int
    ) -> tuple[list[LivepeerSessionTruth], int | None]:
        """One page in the requested order, and the number of matches if ``count`` asked."""

        def matching() -> Iterable[LivepeerSessionTruth]:
            if query.default_order:
                source: Iterable[LivepeerSessionTruth] = self._world.ordered(now_ms)
            else:
                observed = self._world.observed(now_ms)
                source = observed
                if query.order is not None:
                    source = sort_sessions(observed, query.order)
            return (t for t in source if all(p(t) for p in query.filters))

        stop = query.offset + query.limit
        if query.default_order and not query.filters:
            page = list(self._world.ordered(now_ms, query.offset, stop))
        else:
            page = list(itertools.islice(matching(), query.offset, stop))
        total = sum(1 for _ in matching()) if query.count else None
        return page, total

    async def _fail(self, exchange: Exchange, status: int, message: str) -> None:
        body = encode_json({"errors": [message]})
        await exchange.respond(status, body, [("content-type", _JSON)])
