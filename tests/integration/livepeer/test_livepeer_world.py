"""Against the simulator over real sockets, every exported Livepeer value equals the world."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
from structlog.testing import capture_logs

from exporter.app import Exporter
from exporter.simulator import HealthEpisode
from exporter.simulator.livepeer.model import ISSUE_SENTENCES
from tests.integration.livepeer.world import sample, scripted, values, world
from tests.support.simulated import poll, self_metric, simulated

pytestmark = pytest.mark.anyio


def ids_with(ex: Exporter, name: str) -> set[str]:
    return {dict(labels)["session_id"] for (n, labels) in values(ex) if n == name}


def healthy(ex: Exporter, sid: str) -> float | None:
    for (name, labels), value in values(ex).items():
        if name == "livepeer_studio_session_healthy" and dict(labels)["session_id"] == sid:
            return value
    return None


def recording(ex: Exporter, sid: str) -> str | None:
    for (name, labels), value in values(ex).items():
        found = dict(labels)
        if name.endswith("_recording_status") and found["session_id"] == sid and value == 1:
            return found["status"]
    return None


async def test_every_value_equals_the_world_across_pages_and_time() -> None:
    """Over many pages and several instants, the exposition is exactly the world's truth."""
    async with (
        simulated(livepeer_sessions=60) as rig,
        rig.exporter("livepeer", "--livepeer.page-size=9") as ex,
    ):
        for step in range(3):
            rig.sim.log.clear()
            assert await poll(ex) is None
            assert values(ex) == pytest.approx(world(rig))
            actives = len(rig.sim.livepeer.active_sessions(at=rig.now))
            assert self_metric(ex, "sessions_omitted") == 0
            assert actives > 9  # the active set alone spans pages
            requests = rig.sim.log.for_endpoint("livepeer.list")
            assert len(requests) > 2
            cursors = [parse_qs(r.query_string).get("cursor") for r in requests]
            assert cursors == [None, *([f"skip{9 * i}"] for i in range(1, len(requests)))]
            await rig.advance(47 + step)
        assert self_metric(ex, "records_skipped_total", reason="duplicate") == 0
        assert self_metric(ex, "records_skipped_total", reason="invalid") == 0


async def test_requests_ask_for_the_windows_with_the_key_and_never_eq() -> None:
    """Each request carries the Bearer key, the page size and a gt range on lastSeen."""
    async with (
        simulated(livepeer_sessions=20) as rig,
        rig.exporter(
            "livepeer", "--livepeer.page-size=5", "--livepeer.recording-lookback=2h"
        ) as ex,
    ):
        assert await poll(ex) is None
        for request in rig.sim.log.for_endpoint("livepeer.list"):
            query = parse_qs(request.query_string)
            assert request.raw_path == "/api/session"
            assert (
                request.header("authorization") == f"Bearer {rig.sim.credentials.livepeer_api_key}"
            )
            assert query["limit"] == ["5"]
            since = int((rig.now - 7200) * 1000)
            assert json.loads(query["filters"][0]) == [{"id": "lastSeen", "value": {"gt": since}}]
            assert "eq" not in json.loads(query["filters"][0])[0]["value"]
            assert request.status == 200


async def test_health_flapping_is_followed_poll_by_poll() -> None:
    """A session turning unhealthy and healthy again is exported as the world has it."""
    async with simulated(livepeer_sessions=5) as rig, rig.exporter("livepeer") as ex:
        now_ms = int(rig.now * 1000)
        two = tuple(ISSUE_SENTENCES[:2])
        scripted(
            rig,
            "flappy",
            started=-60,
            episodes=(
                HealthEpisode(now_ms + 100_000, now_ms + 200_000, two),
                HealthEpisode(now_ms + 300_000, now_ms + 400_000, ()),
            ),
        )
        scripted(rig, "silent", started=-60, first_hook_after_ms=None)
        seen = []
        for _ in range(5):
            assert await poll(ex) is None
            assert values(ex) == pytest.approx(world(rig))
            issues = values(ex)[
                sample(
                    "livepeer_studio_session_issues",
                    project=rig.sim.livepeer.project_id,
                    stream_id="stream-flappy",
                    stream_name='scripted flappy "quoted" \\ back',
                    session_id="flappy",
                )
            ]
            seen.append((healthy(ex, "flappy"), issues))
            assert healthy(ex, "silent") is None  # no health hook: no series
            assert "silent" in ids_with(ex, "livepeer_studio_session_issues")
            await rig.advance(100)
        assert seen == [(1, 0), (0, 2), (1, 0), (0, 0), (1, 0)]


async def test_recordings_resolve_and_leave_the_lookback() -> None:
    """Recording status follows waiting → ready/failed/none and goes after the lookback."""
    async with (
        simulated(livepeer_sessions=3) as rig,
        rig.exporter("livepeer", "--livepeer.recording-lookback=4h") as ex,
    ):
        for sid, outcome in (
            ("rec-ready", "ready"),
            ("rec-failed", "failed"),
            ("rec-none", "never"),
        ):
            scripted(
                rig, sid, started=-600, ended=30, record=True,
                recording_outcome=outcome, recording_after_ms=120_000,
            )  # fmt: skip
        timeline = []
        for advance in (0, 200, 3 * 3600, 3600 + 600):
            await rig.advance(advance)
            assert await poll(ex) is None
            assert values(ex) == pytest.approx(world(rig, lookback=4 * 3600))
            timeline.append(
                tuple(recording(ex, s) for s in ("rec-ready", "rec-failed", "rec-none"))
            )
        assert timeline == [
            ("waiting", "waiting", "waiting"),
            ("ready", "failed", "waiting"),
            ("ready", "failed", "none"),
            (None, None, None),
        ]
        assert "rec-ready" not in ids_with(ex, "livepeer_studio_session_info")


async def test_cap_keeps_the_busiest_sessions_with_exact_aggregates() -> None:
    """With max-sessions below the active count, the top ingest rates keep their series."""
    async with (
        simulated(livepeer_sessions=40) as rig,
        rig.exporter("livepeer", "--livepeer.max-sessions=6", "--livepeer.page-size=50") as ex,
    ):
        with capture_logs():
            assert await poll(ex) is None
        active = rig.sim.livepeer.active_sessions(at=rig.now)
        assert len(active) > 6
        busiest = sorted(active, key=lambda t: (-t.ingest_rate, -t.last_seen, t.id))[:6]
        assert ids_with(ex, "livepeer_studio_session_ingest_rate_bytes_per_second") == {
            t.id for t in busiest
        }
        assert self_metric(ex, "sessions_omitted") == len(active) - 6
        aggregates = {k: v for k, v in world(rig).items() if "_session_" not in k[0]}
        exposed = values(ex)
        assert {k: exposed[k] for k in aggregates} == pytest.approx(aggregates)
        assert len(ids_with(ex, "livepeer_studio_session_info")) == 6
