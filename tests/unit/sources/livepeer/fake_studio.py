"""A fake Livepeer Studio for ``httpx.MockTransport``, fixtures, builders, and the rig.

:class:`FakeStudio` is an ``httpx.MockTransport`` handler that pages a list of session
objects the way Studio does (``skip<N>`` cursors, a ``Link`` header only after a full page,
pointing at another host), records every request, and plays scripted responses first.
:func:`rig` wires a real :class:`~exporter.sources.livepeer.source.LivepeerSource` to it
through the shared :func:`~tests.support.source_rig.source_rig`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import msgspec

from exporter.config.secrets import Secret
from exporter.sources.base import TargetContext
from exporter.sources.livepeer.settings import LivepeerSettings
from exporter.sources.livepeer.source import KIND, LivepeerSource
from exporter.sources.livepeer.wire import LivepeerSession
from tests.conftest import FIXTURES as ALL_FIXTURES
from tests.support.fakes import FakeClock
from tests.support.source_rig import SourceRig, source_rig

FIXTURES = ALL_FIXTURES / "livepeer"
NOW = 1_760_000_060.0
"""Wall time of the fixtures: 10 s after the live session's lastSeen."""
API_KEY = "lp-fixture-key-0123456789abcdef"
BASE = "https://studio.example.invalid/api"
INTERNAL = "http://10.1.2.3:3004/internal-api"
PROJECT = "aac12556-4d65-4d34-9fb6-d1f0985eb0a9"

SETTINGS = LivepeerSettings(
    api_key=Secret(API_KEY),
    url=BASE,
    target_name="default",
    poll_interval=30.0,
    active_window=90.0,
    recording_lookback=6 * 3600.0,
    page_size=100,
    max_pages=50,
    max_sessions=1000,
)

JSONObject = dict[str, Any]


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_items(name: str) -> list[JSONObject]:
    items: list[JSONObject] = json.loads(fixture_bytes(name))
    return items


def session(sid: str = "s1", **overrides: Any) -> LivepeerSession:
    """An active, healthy, unrecorded session of PROJECT, with ``overrides`` applied."""
    base = LivepeerSession(
        id=sid,
        project=PROJECT,
        stream_id=f"stream-{sid}",
        stream_name=f"name-{sid}",
        playback_id=f"pb-{sid}",
        created_at_ms=(NOW - 600) * 1000,
        last_seen_ms=(NOW - 10) * 1000,
        healthy=True,
        issues=0,
        ingest_rate=1000.0,
        outgoing_rate=2000.0,
        source_bytes=1e6,
        transcoded_bytes=2e6,
        source_segments=100.0,
        transcoded_segments=400.0,
        source_duration=200.0,
        transcoded_duration=800.0,
        record=False,
        recording_status=None,
    )
    return msgspec.structs.replace(base, **overrides)


def wire(sid: str, *, last_seen_ago: float = 10.0, **fields: Any) -> JSONObject:
    """A list item as Studio sends it, seen ``last_seen_ago`` seconds before NOW."""
    item: JSONObject = {
        "id": sid,
        "projectId": PROJECT,
        "parentId": f"stream-{sid}",
        "playbackId": f"pb-{sid}",
        "createdAt": int((NOW - 600) * 1000),
        "lastSeen": int((NOW - last_seen_ago) * 1000),
        "isHealthy": True,
        "issues": None,
        "ingestRate": 1000,
        "outgoingRate": 2000,
        "record": False,
        "parentStream": {"name": f"name-{sid}", "streamKey": f"KEY-{sid}-secret"},
    }
    item.update(fields)
    return item


def ids(snapshot_sessions: object) -> list[str]:
    """The ids of a tuple of sessions, in order."""
    assert isinstance(snapshot_sessions, tuple)
    return [s.id for s in snapshot_sessions]


@dataclass
class FakeStudio:
    """Serves ``sessions`` in pages; ``script`` responses are played first, one per request."""

    sessions: list[JSONObject] = field(default_factory=list)
    script: list[httpx.Response | Exception] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.script:
            step = self.script.pop(0)
            if isinstance(step, Exception):
                raise step
            return step
        limit = int(request.url.params["limit"])
        offset = int(request.url.params.get("cursor", "skip0").removeprefix("skip"))
        page = self.sessions[offset : offset + limit]
        headers = {}
        if len(page) == limit:
            nxt = f"{INTERNAL}/session?limit={limit}&cursor=skip{offset + limit}"
            headers["link"] = f'<{nxt}>; rel="next"'
        return httpx.Response(200, json=page, headers=headers)


@asynccontextmanager
async def rig(studio: FakeStudio, **settings: Any) -> AsyncIterator[SourceRig[LivepeerSource]]:
    """A source over ``studio`` with SETTINGS plus ``settings`` overrides, at wall time NOW."""

    def build(context: TargetContext) -> LivepeerSource:
        return LivepeerSource(replace(SETTINGS, **settings), context)

    async with source_rig(KIND, SETTINGS.target_name, studio, build, clock=FakeClock(NOW)) as r:
        yield r
