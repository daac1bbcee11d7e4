"""Fault matrix, load: thousands of sessions over max-sessions, and 50 concurrent scrapes
while a poll is slow.

The real exporter process against the in-thread simulator (see :mod:`.rig`).
"""

from __future__ import annotations

import collections
import statistics
import time

import anyio
import httpx
import pytest

from exporter.simulator import Fault, LivepeerSessionTruth
from tests.integration.faults.rig import (
    LIVEKIT,
    LIVEPEER,
    fault_rig,
    frozen_world,
    live_world,
    livekit_active,
    livepeer_active,
)
from tests.integration.faults.scrape import Exposition

CAP = 100
SESSIONS = 2500
DAY = 24 * 3600
SCRAPERS = 50
LATENCY = 3.0


def session_ids(m: Exposition, prefix: str) -> set[str]:
    """Distinct ``session_id`` labels over every family whose name starts with ``prefix``."""
    return {
        s.labels["session_id"]
        for name in list(m.names(prefix))
        for s in m.samples(name)
        if "session_id" in s.labels
    }


def health(t: LivepeerSessionTruth) -> str:
    healthy = t.is_healthy if isinstance(t.is_healthy, bool) else None
    return {True: "healthy", False: "unhealthy", None: "unknown"}[healthy]


def test_thousands_of_sessions_over_max_sessions_cap_series_not_aggregates() -> None:
    """With thousands of active sessions and max-sessions 100, each source exports 100
    sessions' series, sessions_omitted says how many were left out, and every aggregate
    equals the world's truth."""
    flags = (
        f"--livekit.max-sessions={CAP}",
        f"--livepeer.max-sessions={CAP}",
        "--no-livekit.details",
        "--livekit.page-size=1000",
        "--livepeer.page-size=1000",
        "--livepeer.active-window=24h",
        "--livepeer.recording-lookback=24h",
        "--poll.interval=3s",
    )
    config = frozen_world(livekit_sessions=SESSIONS, livepeer_sessions=SESSIONS)
    with fault_rig(config, *flags, guard=[LIVEKIT, LIVEPEER]) as rig:
        livekit = livekit_active(rig.sim)
        livepeer = livepeer_active(rig.sim, DAY)
        assert len(livekit) > 10 * CAP
        assert len(livepeer) > 10 * CAP
        m = rig.scrape()

        assert len(session_ids(m, "livekit_cloud_session_")) == CAP
        assert rig.stat(m, "sessions_omitted", LIVEKIT) == len(livekit) - CAP
        project = rig.targets[LIVEKIT]
        assert m.value("livekit_cloud_sessions_active", project=project) == len(livekit)
        participants = sum(s.num_active_participants for s in livekit)
        assert m.value("livekit_cloud_participants_active", project=project) == participants
        egress = sum(s.egress == 1 for s in livekit)
        assert m.value("livekit_cloud_egress_active", project=project) == egress

        assert len(session_ids(m, "livepeer_studio_session_")) == CAP
        assert rig.stat(m, "sessions_omitted", LIVEPEER) == len(livepeer) - CAP
        by_health = collections.Counter(health(t) for t in livepeer)
        for state in ("healthy", "unhealthy", "unknown"):
            exported = m.total("livepeer_studio_sessions_active", health=state)
            assert exported == by_health[state], state
        ingest = m.total("livepeer_studio_ingest_rate_bytes_per_second")
        assert ingest == pytest.approx(sum(t.ingest_rate for t in livepeer))
        outgoing = m.total("livepeer_studio_outgoing_rate_bytes_per_second")
        assert outgoing == pytest.approx(sum(t.outgoing_rate for t in livepeer))
        recordings = collections.Counter(
            t.recording_status or "waiting" for t in livepeer if t.record
        )
        for status in ("waiting", "ready", "failed", "deleted", "none"):
            exported = m.total("livepeer_studio_recordings", status=status)
            assert exported == recordings[status], status


async def burst(url: str) -> list[tuple[int, float, int]]:
    """``SCRAPERS`` scrapes sent at once, each on its own connection: (status, s, bytes)."""
    results: list[tuple[int, float, int]] = []
    limits = httpx.Limits(max_connections=SCRAPERS, max_keepalive_connections=SCRAPERS)
    async with httpx.AsyncClient(limits=limits, timeout=10) as client:

        async def scrape() -> None:
            started = time.perf_counter()
            response = await client.get(url)
            results.append(
                (response.status_code, time.perf_counter() - started, len(response.content))
            )

        async with anyio.create_task_group() as tg:
            for _ in range(SCRAPERS):
                tg.start_soon(scrape)
    return results


def test_50_concurrent_scrapes_during_a_slow_poll_are_answered_without_waiting() -> None:
    """While a LiveKit request is held for 3 s, 50 scrapes started together all get a 200,
    every one of them while that poll still waits."""
    with fault_rig(live_world(), guard=[LIVEPEER]) as rig:
        since = len(rig.sim.log)
        rig.sim.faults.set("livekit.list", Fault(latency=LATENCY, count=1))
        slow = rig.pending("livekit.list", since=since)
        results = anyio.run(burst, rig.exporter.url)
        assert slow.outcome == "pending", "the poll ended before the scrapes did"
        statuses = [status for status, _, _ in results]
        seconds = [elapsed for _, elapsed, _ in results]
        assert statuses == [200] * SCRAPERS
        assert min(size for _, _, size in results) > 1000
        assert max(seconds) < LATENCY / 2, f"slowest scrape {max(seconds):.2f} s"
        assert statistics.median(seconds) < 0.5, f"median {statistics.median(seconds):.2f} s"
