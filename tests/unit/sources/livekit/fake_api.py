"""A scriptable in-memory LiveKit Analytics API for ``httpx.MockTransport``, and its rig.

:class:`FakeAnalytics` serves offset-paged lists and per-session details, checks the bearer
token like LiveKit does, records every request, and plays queued faults. :func:`rig` wires a
real :class:`~exporter.sources.livekit.source.LiveKitSource` to it through the shared
:func:`~tests.support.source_rig.source_rig`, so tests read exported values and self-metrics
from one place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from prometheus_client.parser import text_string_to_metric_families

from exporter.config.secrets import Secret
from exporter.exposition.render import render_chunk
from exporter.sources.base import TargetContext
from exporter.sources.livekit.metrics import families
from exporter.sources.livekit.settings import LiveKitCredentials, LiveKitSettings
from exporter.sources.livekit.snapshot import LiveKitSnapshot, build_snapshot
from exporter.sources.livekit.source import KIND, LiveKitSource
from exporter.sources.livekit.wire import ListedSession, parse_details, parse_page
from exporter.sources.upstream import decode_json
from tests.conftest import FIXTURES
from tests.support.fakes import FakeClock
from tests.support.source_rig import SourceRig, source_rig

NS = 1_000_000_000
PROJECT = "p_test"
TARGET = "prod"
"""The target name :func:`values` renders with (the rig's own target is PROJECT)."""
API_KEY = "APItestkey"
API_SECRET = "test-secret-that-is-at-least-32-bytes-long"
BASE = "http://livekit.test"
LIST_PATH = f"/api/project/{PROJECT}/sessions"

Json = dict[str, object]
Fault = Callable[[httpx.Request], httpx.Response | None]
Handler = Callable[[httpx.Request], Awaitable[httpx.Response | None]]


def session(index: int, *, active: bool = True, participants: int = 1, **extra: object) -> Json:
    """A camelCase list item with string ints, as LiveKit sends them."""
    item: Json = {
        "sessionId": f"RM_{index:04d}",
        "roomName": f"room-{index}",
        "createdAt": "2027-01-15T07:00:00Z",
        "lastActive": "2027-01-15T07:59:00Z",
        "bandwidthIn": str(1000 * index),
        "bandwidthOut": str(2000 * index),
        "numParticipants": participants + 1,
    }
    if participants:
        item["numActiveParticipants"] = participants
    if not active:
        item["endedAt"] = "2027-01-15T07:30:00Z"
    item.update(extra)
    return item


def details(cameras: int = 1, **extra: object) -> Json:
    """A details body with ``cameras`` connected camera publishers and one who left."""
    people: list[Json] = [
        {"participantIdentity": f"p{i}", "publishedSources": {"cameraTrack": True}}
        for i in range(cameras)
    ]
    people.append(
        {
            "participantIdentity": "gone",
            "leftAt": "2027-01-15T07:10:00Z",
            "publishedSources": {"cameraTrack": True, "microphoneTrack": True},
        }
    )
    return {"roomId": "RM_x", "participants": people, **extra}


def listed(session_id: str, active_participants: int = 1, egress: int = 0) -> ListedSession:
    """An active listed session, as the parser gives it."""
    return ListedSession(
        session_id=session_id,
        room_name=f"room-{session_id}",
        created_at_ns=1_800_000_000 * NS,
        ended_at_ns=None,
        last_active_ns=1_800_000_060 * NS + 250_000_000,
        bandwidth_in=100,
        bandwidth_out=200,
        egress=egress,
        num_participants=active_participants + 1,
        num_active_participants=active_participants,
    )


def load(name: str) -> object:
    """A LiveKit fixture body, as plain JSON values."""
    return decode_json((FIXTURES / "livekit" / name).read_bytes(), name)


def fixture_snapshot(max_sessions: int = 1000) -> LiveKitSnapshot:
    """The snapshot of project ``p_abc`` over every list and details fixture."""
    every = [
        *parse_page(load("list_camel.json")).sessions,
        *parse_page(load("list_snake.json")).sessions,
        *parse_page(load("list_numbers.json")).sessions,
        *parse_page(load("list_omitted.json")).sessions,
    ]
    details = {
        "RM_NMEtcdy4r73X": parse_details(load("details_camel.json"))[0],
        "RM_snake1": parse_details(load("details_snake.json"))[0],
        "RM_quiet": parse_details(load("details_minimal.json"))[0],
    }
    return build_snapshot("p_abc", [s for s in every if s.active], details, max_sessions)


def as_sent(request: httpx.Request) -> httpx.Request:
    """A copy of ``request`` as it is now: URL and headers (a GET has no body)."""
    return httpx.Request(request.method, request.url, headers=request.headers.copy())


@dataclass
class FakeAnalytics:
    """The two Analytics endpoints over in-memory data, with a fault queue."""

    sessions: list[Json] = field(default_factory=list)
    details: dict[str, Json] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    """Tried in order on each request; the first that answers is removed and used."""
    revoked: set[str] = field(default_factory=set)
    hold: Handler | None = None
    """Awaited on details requests before answering (to observe concurrency)."""
    requests: list[httpx.Request] = field(default_factory=list)
    """Every request as it was sent (a copy: an auth flow changes a request it retries)."""

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(as_sent(request))
        for index, fault in enumerate(self.faults):
            answer = fault(request)
            if answer is not None:
                del self.faults[index]
                return answer
        if not self._authorised(request):
            return httpx.Response(401, text="unauthorized")
        path = request.url.raw_path.decode().split("?")[0]
        if path.rstrip("/") == LIST_PATH:
            limit = int(request.url.params["limit"])
            page = int(request.url.params["page"])
            return httpx.Response(
                200, json={"sessions": self.sessions[page * limit : (page + 1) * limit]}
            )
        if path.startswith(LIST_PATH + "/"):
            if self.hold is not None:
                await self.hold(request)
            found = self.details.get(request.url.path.removeprefix(LIST_PATH + "/"))
            return httpx.Response(404) if found is None else httpx.Response(200, json=found)
        return httpx.Response(404)

    def _authorised(self, request: httpx.Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or token in self.revoked:
            return False
        try:
            claims = jwt.decode(
                token,
                API_SECRET,
                algorithms=["HS256"],
                issuer=API_KEY,
                options={"verify_exp": False, "verify_nbf": False, "require": ["exp", "nbf"]},
            )
        except jwt.InvalidTokenError:
            return False
        video = claims.get("video")
        return isinstance(video, dict) and video.get("roomList") is True

    def paths(self, endpoint: str = "details") -> list[str]:
        """Raw paths requested, of the details endpoint or of the list."""
        raws = [r.url.raw_path.decode().split("?")[0] for r in self.requests]
        if endpoint == "list":
            return [p for p in raws if p.rstrip("/") == LIST_PATH]
        return [p.removeprefix(LIST_PATH + "/") for p in raws if p.startswith(LIST_PATH + "/")]


def settings(**changes: Any) -> LiveKitSettings:
    base = LiveKitSettings(
        credentials=LiveKitCredentials(PROJECT, API_KEY, Secret(API_SECRET)),
        url=BASE,
        poll_interval=30.0,
        token_ttl=600.0,
        lookback_days=1,
        page_size=100,
        max_pages=50,
        details=True,
        requests_per_minute=1000,
        max_sessions=1000,
    )
    return dataclasses.replace(base, **changes)


def list_params(api: FakeAnalytics) -> list[dict[str, str]]:
    """The query parameters of every list request, in order."""
    return [dict(r.url.params) for r in api.requests if r.url.path.rstrip("/") == LIST_PATH]


def values(snapshot: LiveKitSnapshot) -> dict[str, dict[tuple[str, ...], float]]:
    """Exported samples by name, keyed by label values in label-name order, ``target``
    (TARGET) included: ``(project, target)``, ``(project, target, track)``,
    ``(project, room, session_id, target)``."""
    text = render_chunk(families(snapshot, TARGET)).text.raw.decode()
    out: dict[str, dict[tuple[str, ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = tuple(sample.labels[name] for name in sorted(sample.labels))
            out.setdefault(sample.name, {})[key] = sample.value
    return out


@asynccontextmanager
async def rig(
    api: FakeAnalytics, *, clock: FakeClock | None = None, **changes: Any
) -> AsyncIterator[SourceRig[LiveKitSource]]:
    """A LiveKit source over ``api`` with :func:`settings` plus ``changes``."""

    def build(context: TargetContext) -> LiveKitSource:
        return LiveKitSource(settings(**changes), context)

    async with source_rig(KIND, PROJECT, api, build, clock=clock or FakeClock()) as r:
        yield r
