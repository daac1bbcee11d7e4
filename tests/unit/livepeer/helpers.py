"""Shared test doubles for the Livepeer source: fixtures, a session builder, a fake Studio.

:class:`FakeStudio` is an ``httpx.MockTransport`` handler that pages a list of session
objects the way Studio does (``skip<N>`` cursors, a ``Link`` header only after a full page,
pointing at another host), records every request, and plays scripted responses first.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import msgspec
from prometheus_client import CollectorRegistry

from exporter.config.settings import LivepeerSettings, Secret
from exporter.exposition.self_metrics import SelfMetrics
from exporter.logs import get_logger
from exporter.sources.base import TargetContext
from exporter.sources.livepeer.client import LivepeerSource
from exporter.sources.livepeer.wire import LivepeerSession
from exporter.sources.upstream import UpstreamClient
from tests.support.fakes import FakeClock

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "livepeer"
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


@dataclass
class Rig:
    """A Livepeer source wired to a fake Studio, with its registry and clock."""

    source: LivepeerSource
    studio: FakeStudio
    registry: CollectorRegistry
    clock: FakeClock
    context: TargetContext

    def skipped(self, reason: str) -> float | None:
        return self.registry.get_sample_value(
            "livesession_exporter_records_skipped_total",
            {"source": "livepeer_studio", "target": "default", "reason": reason},
        )


@asynccontextmanager
async def rig(studio: FakeStudio, **settings: Any) -> AsyncIterator[Rig]:
    """A source over ``studio`` with SETTINGS plus ``settings`` overrides, at wall time NOW."""
    registry = CollectorRegistry()
    telemetry = SelfMetrics(registry).target("livepeer_studio", "default")
    clock = FakeClock(wall=NOW)
    async with httpx.AsyncClient(transport=httpx.MockTransport(studio)) as client:
        context = TargetContext(
            http=UpstreamClient(client, telemetry),
            clock=clock,
            telemetry=telemetry,
            log=get_logger(source="livepeer_studio", target="default"),
        )
        source = LivepeerSource(replace(SETTINGS, **settings), context)
        yield Rig(source, studio, registry, clock, context)
