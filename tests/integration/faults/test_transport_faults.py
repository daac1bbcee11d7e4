"""Fault matrix, transport: hangs past --poll.timeout, refused and reset connections,
SIGTERM during a hung request, and the upstream going away and coming back.

The real exporter process against the in-thread simulator; the source not under fault is
guarded on every scrape (see :mod:`.rig`).
"""

from __future__ import annotations

import dataclasses
import socket
import statistics
import time
from contextlib import ExitStack

import httpx

from exporter.simulator import Fault, FaultAction
from tests.integration.faults.rig import (
    LIVEKIT,
    LIVEPEER,
    exporter_for,
    fault_rig,
    live_world,
)
from tests.integration.faults.scrape import Exposition
from tests.support.processes import running_simulator, wait_for

SCRAPES = 10


def test_a_request_hanging_past_the_timeout_fails_as_timeout_and_scrapes_stay_fast() -> None:
    """A hung request fails its poll as timeout; scrapes meanwhile answer in milliseconds."""
    with fault_rig(live_world(), "--poll.timeout=1500ms", guard=[LIVEKIT]) as rig:
        since = len(rig.sim.log)
        rig.sim.faults.set("livepeer.list", Fault(FaultAction.HANG))
        hung = rig.pending("livepeer.list", since=since)
        seconds = []
        with httpx.Client(timeout=5) as client:
            for _ in range(SCRAPES):
                started = time.perf_counter()
                response = client.get(rig.exporter.url)
                seconds.append(time.perf_counter() - started)
                assert response.status_code == 200
        assert hung.outcome == "pending", "the request stopped hanging before the scrapes ended"
        assert max(seconds) < 0.25, seconds
        assert statistics.median(seconds) < 0.05, seconds

        m = rig.wait(lambda m: rig.errors(m, LIVEPEER, "timeout") >= 1, what="the timeout")
        assert rig.errors(m, LIVEPEER) == rig.errors(m, LIVEPEER, "timeout")
        assert rig.stat(m, "source_up", LIVEPEER) == 0
        errors = rig.stat(m, "api_requests_total", LIVEPEER, endpoint="list_sessions", code="error")
        assert errors == 1
        assert rig.failed_events(LIVEPEER)[0]["reason"] == "timeout"
        rig.wait(lambda _: hung.outcome == "abandoned", what="the exporter to hang up")


def test_a_refused_connection_fails_as_connection() -> None:
    """An API URL nothing listens on: polls fail as connection, the other source is intact."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"LIVEPEER_API_URL": f"http://127.0.0.1:{port}/api"}
    with fault_rig(live_world(), env=env, up=[LIVEKIT], guard=[LIVEKIT]) as rig:
        m = rig.wait(lambda m: rig.errors(m, LIVEPEER, "connection") >= 2, what="2 refusals")
        assert rig.errors(m, LIVEPEER) == rig.errors(m, LIVEPEER, "connection")
        assert rig.stat(m, "source_up", LIVEPEER) == 0
        assert rig.stat(m, "api_requests_total", LIVEPEER, endpoint="list_sessions", code="error")
        assert not rig.requests(LIVEPEER)
        assert {e["reason"] for e in rig.failed_events(LIVEPEER)} == {"connection"}


def test_a_reset_or_closed_connection_fails_as_connection() -> None:
    """A TCP reset, then a connection closed without an answer: each fails a poll as
    connection."""
    with fault_rig(live_world(), "--poll.interval=500ms", guard=[LIVEPEER]) as rig:
        for n, action in enumerate((FaultAction.RESET, FaultAction.CLOSE), start=1):
            rig.sim.faults.set("livekit.list", Fault(action, count=1))

            def failed(m: Exposition, n: int = n) -> bool:
                return rig.errors(m, LIVEKIT, "connection") == n

            m = rig.wait(failed, what=f"{action} to fail a poll")
            assert rig.stat(m, "source_up", LIVEKIT) == 0
            assert rig.errors(m, LIVEKIT) == n
        outcomes = [r.outcome for r in rig.requests(LIVEKIT, "livekit.list") if r.fault]
        assert outcomes == ["reset", "closed"]
        assert {e["reason"] for e in rig.failed_events(LIVEKIT)} == {"connection"}


def test_sigterm_during_a_hung_request_exits_0_within_5_seconds() -> None:
    """SIGTERM while a LiveKit request hangs (timeout 30 s) stops the process, status 0,
    within 5 s, logging the shutdown."""
    config = live_world(faults=(("livekit.list", Fault(FaultAction.HANG)),))
    with fault_rig(config, "--poll.timeout=30s", up=[LIVEPEER]) as rig:
        hung = rig.pending("livekit.list")
        started = time.monotonic()
        assert rig.exporter.terminate(within=5) == 0
        assert time.monotonic() - started < 5
        wait_for(lambda: rig.exporter.event("exporter_stopped"), within=5, what="the last log line")
        events = [e["event"] for e in rig.exporter.events()]
        assert events[-2:] == ["shutdown_requested", "exporter_stopped"]
        assert hung.outcome != "response"


def test_the_upstream_restarting_costs_polls_not_the_process() -> None:
    """The simulator stops (polls fail as connection, the process keeps serving) and a new
    one starts on the same ports: both sources recover without a restart."""
    config = live_world(
        livekit_project_id="p_restart0test",
        livekit_api_key="APIrestartkey",
        livekit_api_secret="restart-test-secret-0123456789abcdefghij",
        livepeer_api_key="6f1c2d3e-4a5b-4c6d-8e7f-001122334455",
    )
    with ExitStack() as first:
        sim = first.enter_context(running_simulator(config))
        assert sim.endpoints is not None
        livekit_port = httpx.URL(sim.endpoints.livekit_url).port
        livepeer_port = httpx.URL(sim.endpoints.livepeer_url).port
        assert livekit_port is not None
        assert livepeer_port is not None
        with exporter_for(sim) as rig:
            pid = rig.exporter.process.pid
            first.close()  # the simulator goes away
            down = rig.wait(
                lambda m: all(rig.errors(m, s, "connection") >= 1 for s in (LIVEKIT, LIVEPEER)),
                what="both sources to fail as connection",
            )
            assert not rig.up(down, LIVEKIT)
            assert not rig.up(down, LIVEPEER)
            # the last good data is still served (stale-after is 5 m)
            assert down.has("livekit_cloud_sessions_active")
            assert down.has("livepeer_studio_sessions_active")

            restarted = dataclasses.replace(
                config, livekit_port=livekit_port, livepeer_port=livepeer_port
            )
            with running_simulator(restarted) as again:
                rig.sim = again
                back = rig.wait(
                    lambda m: rig.up(m, LIVEKIT) and rig.up(m, LIVEPEER),
                    within=20,
                    what="recovery on the restarted simulator",
                )
                assert back.value("livekit_cloud_sessions_active", project="p_restart0test")
                assert back.has("livepeer_studio_sessions_active")
                assert rig.requests(LIVEKIT)
                assert rig.requests(LIVEPEER)
                assert rig.exporter.process.pid == pid
                assert rig.exporter.returncode is None
