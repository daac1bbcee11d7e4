"""The simulated LiveKit Cloud Analytics API: its paths, token check, errors and answers.

Serves ``GET /api/project/{project_id}/sessions[/]`` (offset pages: ``limit``, 0-based
``page``, ``start``/``end`` UTC dates with ``end`` exclusive and ``start`` at most 7 days
back) and ``GET /api/project/{project_id}/sessions/{session_id}`` (details; 404 when
unknown), for each simulated project, from that project's world. Ids are percent-decoded
exactly once; any other path, an unknown project's included, is a 404. Every request needs a
valid HS256 token with the ``roomList`` grant, signed by the secret of the key in its
``iss``, and that key must be the project's own (another project's key is an unknown key
there), else 401. Error bodies are short plain text: LiveKit's are not a stable format. The
request prelude (log, 404/405, faults) is the shared
:class:`~exporter.simulator.http.fake_api.FakeApi`'s.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl

from exporter.web.server import Scope

from ..config import LiveKitProject, SimulatorConfig
from ..http.asgi import Exchange, status_phrase
from ..http.auth import TokenRejected, verify_livekit_token
from ..http.fake_api import AppContext, FakeApi, Refusal, Route, decode_segment, resource_route
from ..http.fault_effects import JsonBody, send_json
from ..http.faults import Fault
from ..http.requestlog import RecordedRequest
from .encoding import encode_details, encode_list_item, livekit_style, snake_case
from .model import NS
from .world import LiveKitWorld

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


class LiveKitApp(FakeApi[LiveKitWorld]):
    """ASGI app over one :class:`LiveKitWorld` per project; the prelude is :class:`FakeApi`'s."""

    def __init__(
        self,
        context: AppContext,
        config: SimulatorConfig,
        projects: Iterable[tuple[LiveKitProject, LiveKitWorld]],
    ) -> None:
        super().__init__(context)
        self._config = config
        self._projects: dict[str, tuple[LiveKitProject, LiveKitWorld]] = {}
        for project, world in projects:
            if project.project_id in self._projects:
                raise ValueError(f"two LiveKit projects are named {project.project_id!r}")
            self._projects[project.project_id] = (project, world)

    api = "livekit"
    not_found = "404 page not found"

    def route(self, scope: Scope) -> Route | None:
        """``/api/project/{project_id}/sessions[/]`` and ``.../sessions/{session_id}``."""
        found = resource_route(scope, 5)
        if found is None:
            return None
        prefix, session_id = found
        if prefix[:3] != [b"", b"api", b"project"] or prefix[4] != b"sessions":
            return None
        project_id = decode_segment(prefix[3])
        if project_id is None or project_id not in self._projects:
            return None
        endpoint = "livekit.list" if session_id is None else "livekit.details"
        return Route(endpoint, session_id, project_id)

    def error(self, message: str) -> tuple[bytes, str]:
        return f"{message}\n".encode(), _TEXT

    def status_error(self, status: int) -> tuple[bytes, str]:
        # LiveKit's injected errors read like its others: the phrase in lower case
        return self.error(status_phrase(status).lower())

    def authenticate(
        self, record: RecordedRequest, route: Route, now: float
    ) -> LiveKitWorld | Refusal:
        # route() let only known projects through: this is one dict lookup
        project, world = self._projects[route.project or ""]
        try:
            verify_livekit_token(
                record.header("authorization"),
                api_key=project.api_key,
                api_secret=project.api_secret,
                now=now,
                leeway=self._config.token_leeway,
            )
        except TokenRejected as exc:
            return Refusal(401, f"unauthorized: {exc}")
        return world

    async def answer(
        self,
        exchange: Exchange,
        route: Route,
        world: LiveKitWorld,
        fault: Fault | None,
        now: float,
    ) -> None:
        try:
            body = (
                self._list(world, bytes(exchange.scope.get("query_string", b"")), now)
                if route.resource_id is None
                else self._details(world, route.resource_id, now)
            )
        except _BadRequest as exc:
            await self.fail(exchange, 400, str(exc))
            return
        if body is None:
            await self.fail(exchange, 404, "session not found")
            return
        if self._config.livekit_snake_case:
            body.payload = snake_case(body.payload)
        await send_json(exchange, body, fault)

    def _list(self, world: LiveKitWorld, query: bytes, now: float) -> JsonBody:
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
        truths = world.page(
            int(now * NS),
            since_ns=_midnight_ns(since),
            until_ns=None if end is None else _midnight_ns(end),
            offset=page * limit,
            limit=limit,
        )
        items: list[object] = [
            encode_list_item(t, livekit_style(self._config.seed, t.session_id)) for t in truths
        ]
        # protobuf JSON leaves an empty repeated field out: an empty page is "{}"
        payload: dict[str, object] = {"sessions": items} if items else {}
        return JsonBody(payload, "sessions", dict(_MALFORMED_SESSION))

    def _details(self, world: LiveKitWorld, session_id: str, now: float) -> JsonBody | None:
        truth = world.session(session_id, at=now)
        if truth is None:
            return None
        payload = encode_details(truth, livekit_style(self._config.seed, truth.session_id))
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
