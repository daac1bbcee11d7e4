"""A hung target is isolated (targets.md; quality.md "nothing lost"): the real exporter
process, configured by ``--config.file`` with three LiveKit projects and one Studio key, one
of the projects served by a TCP server that accepts and never answers. The other targets keep
polling on their interval, scrapes answer at once throughout, and the hung target fails with
``timeout`` at its deadline, again and again, without its data ever appearing."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import httpx

from exporter.simulator import SimulatorConfig
from tests.integration.targets.targetfile import (
    LIVEKIT,
    LIVEPEER,
    OPENMETRICS,
    LiveKit,
    Series,
    assert_one_document,
    every,
    labelled,
    livekit_targets,
    livepeer_targets,
    series,
    targets_of,
    write_config,
)
from tests.support.processes import ExporterProcess, running_simulator, wait_for

INTERVAL: Final = 1.0
TIMEOUT: Final = 3.0
"""--poll.timeout; a poll's deadline is the longer of it and the interval."""
FAST: Final = 1.0
"""Longest a scrape may take, whatever a target does."""
WATCH: Final = 6.0
"""How long the healthy targets' polling is watched (in seconds of real time)."""


@contextmanager
def silent_server() -> Iterator[str]:
    """A loopback TCP server that accepts every connection and never sends a byte; its URL."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.05)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()


def timed_scrape(exporter: ExporterProcess) -> tuple[Series, float]:
    """One scrape's series and how long it took (fails beyond FAST)."""
    started = time.monotonic()
    response = httpx.get(exporter.url, timeout=FAST)
    took = time.monotonic() - started
    response.raise_for_status()
    return series(response.text), took


def value(found: Series, name: str, **labels: str) -> float:
    matches = labelled(found, f"livesession_exporter_{name}", **labels)
    assert len(matches) == 1, f"{name}{labels}: {len(matches)} series"
    return next(iter(matches.values()))


def test_a_hung_target_delays_nothing_else(tmp_path: Path) -> None:
    """Healthy targets poll every interval and scrapes stay fast while one target hangs;
    the hung one fails with reason timeout after its deadline, each time."""
    config = SimulatorConfig(
        seed=5, livekit_projects=2, livepeer_projects=1, livekit_sessions=3, livepeer_sessions=3
    )
    with running_simulator(config) as sim, silent_server() as silent:
        assert sim.endpoints is not None
        hung = LiveKit("lk-hung", "p_hungproject1", "APIhung", secrets.token_urlsafe(36), silent)
        livekit = [*livekit_targets(sim.endpoints), hung]
        livepeer = livepeer_targets(sim.endpoints)
        healthy = [(LIVEKIT, t.name) for t in livekit if t is not hung]
        healthy += [(LIVEPEER, t.name) for t in livepeer]
        path = write_config(tmp_path, livekit=livekit, livepeer=livepeer)
        args = (
            f"--config.file={path}",
            f"--poll.interval={INTERVAL:g}s",
            f"--poll.timeout={TIMEOUT:g}s",
        )
        with ExporterProcess(args) as exporter:
            started = time.monotonic()
            slowest = 0.0

            def all_healthy_up() -> Series | None:
                nonlocal slowest
                found, took = timed_scrape(exporter)
                slowest = max(slowest, took)
                up = [value(found, "source_up", source=s, target=t) for s, t in healthy]
                return found if all(v == 1 for v in up) else None

            first: Series = wait_for(all_healthy_up, within=10, what="healthy targets up")
            since = time.monotonic()
            before = {t: value(first, "source_polls_total", target=t) for _, t in healthy}

            # watch: every scrape quick, every healthy target up and never failing
            failed_at: float | None = None
            last, watched = first, 0.0
            while time.monotonic() - started < WATCH or failed_at is None:
                assert time.monotonic() - started < WATCH + 2 * TIMEOUT, "no timeout reported"
                asked = time.monotonic()
                last, took = timed_scrape(exporter)
                slowest = max(slowest, took)
                watched = asked - since  # the polls counted in `last` began by then
                for source, target in healthy:
                    assert value(last, "source_up", source=source, target=target) == 1, target
                    errors = labelled(
                        last, "livesession_exporter_source_poll_errors_total", target=target
                    )
                    assert sum(errors.values()) == 0, f"{target} failed a poll"
                timeouts = value(
                    last, "source_poll_errors_total", target=hung.name, reason="timeout"
                )
                if timeouts and failed_at is None:
                    failed_at = time.monotonic() - started
                time.sleep(0.1)

            assert slowest < FAST, f"a scrape took {slowest:.2f} s"
            for _, target in healthy:
                polls = value(last, "source_polls_total", target=target) - before[target]
                # one poll per interval, less one for where the window cuts the first
                assert polls >= watched // INTERVAL - 1, (target, polls, watched)

            # the hung target: failed by timeout at its deadline, never up, no data
            assert value(last, "source_up", source=LIVEKIT, target=hung.name) == 0
            assert value(last, "source_polls_total", target=hung.name) >= 2  # it keeps trying
            assert failed_at is not None
            assert failed_at <= INTERVAL + TIMEOUT + 1.5, failed_at
            duration = value(last, "source_poll_duration_seconds", target=hung.name)
            assert TIMEOUT - 0.1 <= duration <= TIMEOUT + 1.0, duration
            other = {
                dict(labels)["reason"]: v
                for (_, labels), v in labelled(
                    last, "livesession_exporter_source_poll_errors_total", target=hung.name
                ).items()
                if v
            }
            assert set(other) == {"timeout"}, other
            assert hung.name not in targets_of(
                {key: v for key, v in last.items() if key[0].startswith("livekit_cloud_")}
            )
            assert targets_of(last, ["livesession_exporter_target_info"]) == {
                t.name for t in every(livekit, livepeer)
            }
            failures = [e for e in exporter.events("poll_failed") if e.get("target") == hung.name]
            assert failures, exporter.stderr
            for event in failures:
                assert event["reason"] == "timeout", event
                assert TIMEOUT - 0.1 <= event["duration_s"] <= TIMEOUT + 1.0, event
            # a real process's scrape (process and Python collectors too) in both formats
            assert_one_document(exporter.scrape(), openmetrics=False)
            assert_one_document(exporter.scrape(Accept=OPENMETRICS), openmetrics=True)
            assert exporter.terminate() == 0
