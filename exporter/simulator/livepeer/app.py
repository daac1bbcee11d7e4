"""The simulated Livepeer Studio API (``GET /api/session``): paths, key check, answers.

The list is a bare JSON array; the next page exists only as a ``Link: <…>; rel="next"``
header whose origin is Studio's internal one, not the request's (read the cursor, not the
host). A page is followed by a link only when it is full, so a full last page leads to one
more request answered with ``[]``. ``GET /api/session/{id}`` serves one session (no
``parentStream``: only the list joins it in). Each key sees one project's world only: the
key presented picks the project (one dict lookup), whose keys then check it. Errors are
``{"errors": [...]}``, and the 401 for an unknown key echoes the key, as Studio's does. The
request prelude (log, 404/405, faults) is the shared
:class:`~exporter.simulator.http.fake_api.FakeApi`'s.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from exporter.web.server import Scope

from ..config import LivepeerKeys, SimulatorConfig
from ..http.asgi import Exchange
from ..http.auth import check_livepeer_key, livepeer_key
from ..http.fake_api import AppContext, FakeApi, Refusal, Route, resource_route
from ..http.fault_effects import JsonBody, encode_json, send_json
from ..http.faults import Fault
from ..http.requestlog import RecordedRequest
from .encoding import encode_session, livepeer_floats
from .filters import sort_sessions
from .query import QueryError, SessionQuery, next_link, parse_session_query
from .truth import LivepeerSessionTruth
from .world import LivepeerWorld

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


@dataclass(frozen=True, slots=True)
class _Project:
    keys: LivepeerKeys
    world: LivepeerWorld


class LivepeerApp(FakeApi[LivepeerWorld]):
    """ASGI app over one :class:`LivepeerWorld` per key; the prelude is :class:`FakeApi`'s."""

    def __init__(
        self,
        context: AppContext,
        config: SimulatorConfig,
        projects: Iterable[tuple[LivepeerKeys, LivepeerWorld]],
    ) -> None:
        super().__init__(context)
        self._config = config
        listed = [_Project(keys, world) for keys, world in projects]
        if not listed:
            raise ValueError("the Livepeer API needs at least one project")
        self._first = listed[0]
        self._by_key: dict[str, _Project] = {}
        for project in listed:
            for key in (project.keys.api_key, project.keys.cors_api_key):
                if self._by_key.setdefault(key, project) is not project:
                    raise ValueError("two Livepeer projects share a key")

    api = "livepeer"
    not_found = "not found"

    def route(self, scope: Scope) -> Route | None:
        """``/api/session[/]`` and ``/api/session/{id}``."""
        found = resource_route(scope, 3)
        if found is None or found[0] != [b"", b"api", b"session"]:
            return None
        session_id = found[1]
        return Route("livepeer.list" if session_id is None else "livepeer.get", session_id)

    def error(self, message: str) -> tuple[bytes, str]:
        return encode_json({"errors": [message]}), _JSON

    def authenticate(
        self, record: RecordedRequest, route: Route, now: float
    ) -> LivepeerWorld | Refusal:
        header = record.header("authorization")
        # an unknown key is refused by the first project's check, with Studio's answer
        project = self._by_key.get(livepeer_key(header) or "", self._first)
        refused = check_livepeer_key(
            header,
            api_key=project.keys.api_key,
            user_id=project.world.user_id,
            cors_key=project.keys.cors_api_key,
            cors_allowed=route.endpoint == "livepeer.get",
        )
        return project.world if refused is None else Refusal(*refused)

    async def answer(
        self,
        exchange: Exchange,
        route: Route,
        world: LivepeerWorld,
        fault: Fault | None,
        now: float,
    ) -> None:
        now_ms = world.now_ms(now)
        session_id = route.resource_id
        if session_id is not None:
            truth = world.session(session_id, at=now)
            if truth is None:
                await self.fail(exchange, 404, "not found")
                return
            payload = encode_session(truth, livepeer_floats(self._config.seed, truth.id))
            del payload["parentStream"]
            await send_json(exchange, JsonBody(payload, "", dict(_MALFORMED), _JSON), fault)
            return
        scope = exchange.scope
        query_string = bytes(scope.get("query_string", b""))
        try:
            query = parse_session_query(query_string)
        except QueryError as exc:
            await self.fail(exchange, exc.status, exc.message)
            return
        page, total = _select(world, query, now_ms)
        headers: list[tuple[str, str]] = []
        if len(page) == query.limit:
            raw_path = bytes(scope.get("raw_path") or b"/api/session")
            origin = self._config.livepeer_link_origin.rstrip("/")
            cursor = f"skip{query.offset + query.limit}"
            link = next_link(origin, raw_path, query_string, cursor)
            headers.append(("link", f'<{link}>; rel="next"'))
        if total is not None and page:
            headers.append(("x-total-count", str(total)))
        items: list[object] = [
            encode_session(t, livepeer_floats(self._config.seed, t.id)) for t in page
        ]
        await send_json(
            exchange, JsonBody(items, None, dict(_MALFORMED), _JSON), fault, tuple(headers)
        )


def _select(
    world: LivepeerWorld, query: SessionQuery, now_ms: int
) -> tuple[list[LivepeerSessionTruth], int | None]:
    """One page in the requested order, and the number of matches if ``count`` asked."""

    def matching() -> Iterable[LivepeerSessionTruth]:
        if query.default_order:
            source: Iterable[LivepeerSessionTruth] = world.ordered(now_ms)
        else:
            observed = world.observed(now_ms)
            source = observed
            if query.order is not None:
                source = sort_sessions(observed, query.order)
        return (t for t in source if all(p(t) for p in query.filters))

    stop = query.offset + query.limit
    if query.default_order and not query.filters:
        page = list(world.ordered(now_ms, query.offset, stop))
    else:
        page = list(itertools.islice(matching(), query.offset, stop))
    total = sum(1 for _ in matching()) if query.count else None
    return page, total
