"""Many targets: CPU of a poll cycle of 50 + 50 small targets against 1 + 1 large ones.

targets.md's speed criterion: 50 LiveKit and 50 Livepeer targets of 20 sessions each must poll
and serve within the same CPU per cycle as one target of each with 1,000 sessions (± 30 %).
Both cases run the exporter in this process (``build_exporter`` with a ``--config.file`` of
the simulator's projects) against the simulator, served from a thread of this process; a
cycle is every target polled once (``poll_all_once``, all targets concurrently, as their loops
overlap in production) plus one gzip scrape. Its CPU is this process's
(``time.process_time()``, every thread, the exporter's rendering threads included) less the
simulator thread's own CPU clock, the median of several cycles after a warm-up one.

Per-target overhead is measured too: the memory ``tracemalloc`` sees the exporter hold once
100 targets with no sessions have polled, over that of 2 such targets, per extra target.
"""

from __future__ import annotations

import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Final

import anyio
import anyio.from_thread
from prometheus_client import CollectorRegistry

from bench.results import Result, fmt_ms, median
from bench.worlds import BUDGET, SEED
from exporter.app import build_exporter
from exporter.config.settings import Settings
from exporter.simulator import SimulatorConfig, SimulatorEndpoints
from exporter.simulator.simulator import Simulator
from exporter.sources.registry import SOURCES

__all__ = ["run"]

GROUP: Final = "Targets"
RUNS: Final = 5
MAX_RATIO: Final = 1.3


@contextmanager
def _simulator(config: SimulatorConfig) -> Iterator[tuple[SimulatorEndpoints, int]]:
    """The simulator served from a thread; its endpoints and that thread's CPU clock id."""
    simulator = Simulator(config)
    with anyio.from_thread.start_blocking_portal() as portal:
        future, endpoints = portal.start_task(simulator.run)
        clock = time.pthread_getcpuclockid(portal.call(threading.get_ident))
        try:
            yield endpoints, clock
        finally:
            future.cancel()


def _settings(endpoints: SimulatorEndpoints, directory: Path) -> Settings:
    """A config file with one target per simulated project, secrets by ``*_env``."""
    env: dict[str, str] = {}
    lines = [f"defaults:\n  livekit: {{ requests_per_minute: {BUDGET} }}", "livekit:"]
    for index, project in enumerate(endpoints.livekit_projects):
        env[f"LK_{index}"] = project.api_secret
        lines += [
            f"  - name: lk-{index}",
            f"    project_id: {project.project_id}",
            f"    api_key: {project.api_key}",
            f"    api_secret_env: LK_{index}",
            f"    url: {endpoints.livekit_url}",
        ]
    lines.append("livepeer:")
    for index, studio in enumerate(endpoints.livepeer_projects):
        env[f"LP_{index}"] = studio.api_key
        lines += [
            f"  - name: lp-{index}",
            f"    api_key_env: LP_{index}",
            f"    url: {endpoints.livepeer_url}",
        ]
    path = directory / "targets.yaml"
    path.write_text("\n".join(lines) + "\n")
    return Settings.from_sources([f"--config.file={path}", "--poll.timeout=60s"], env, SOURCES)


def _cycles(projects: int, sessions: int) -> tuple[list[float], int]:
    """CPU seconds of each measured cycle, and the active sessions the last one saw."""
    config = SimulatorConfig(
        seed=SEED,
        livekit_sessions=sessions,
        livepeer_sessions=sessions,
        livekit_projects=projects,
        livepeer_projects=projects,
        active_fraction=1.0,
    )
    with _simulator(config) as (endpoints, sim_clock), TemporaryDirectory() as tmp:
        settings = _settings(endpoints, Path(tmp))

        async def measure() -> tuple[list[float], int]:
            times: list[float] = []
            async with build_exporter(settings, registry=CollectorRegistry()) as exporter:
                for run in range(RUNS + 1):
                    sim = time.clock_gettime(sim_clock)
                    started = time.process_time()
                    assert await exporter.poll_all_once(), "a poll failed"
                    fresh = exporter.store.fresh(exporter.clock.monotonic())
                    exporter.exposition.body(fresh, "text", gzip=True)
                    spent = time.process_time() - started
                    if run:  # the first cycle mints tokens and opens connections: warm-up
                        times.append(spent - (time.clock_gettime(sim_clock) - sim))
                seen = sum(s.sessions or 0 for s in exporter.store.statuses())
            return times, seen

        return anyio.run(measure)


def _memory_per_target() -> float:
    """Bytes the exporter holds per extra target (no sessions), after one poll of each."""

    def held(projects: int) -> int:
        config = SimulatorConfig(
            seed=SEED, livekit_sessions=0, livepeer_sessions=0,
            livekit_projects=projects, livepeer_projects=projects,
        )  # fmt: skip
        with _simulator(config) as (endpoints, _), TemporaryDirectory() as tmp:
            settings = _settings(endpoints, Path(tmp))

            async def measure() -> int:
                async with build_exporter(settings, registry=CollectorRegistry()) as exporter:
                    tracemalloc.start()
                    base = tracemalloc.get_traced_memory()[0]
                    await exporter.fleet.apply((), start=False)
                    await exporter.fleet.apply(settings.targets, start=False)
                    await exporter.poll_all_once()
                    grown = tracemalloc.get_traced_memory()[0] - base
                    tracemalloc.stop()
                    return grown

            return anyio.run(measure)

    return (held(50) - held(1)) / 98


def run() -> list[Result]:
    big, big_seen = _cycles(1, 1000)
    small, small_seen = _cycles(50, 20)
    assert big_seen >= 1900, f"only {big_seen} active sessions in the 1 + 1 case"
    assert small_seen >= 1900, f"only {small_seen} active sessions in the 50 + 50 case"
    ratio = median(small) / median(big)
    per_target = _memory_per_target()
    return [
        Result(
            GROUP,
            "poll + scrape cycle, 1 LiveKit + 1 Livepeer target of 1,000 sessions each",
            "reference",
            f"{fmt_ms(median(big))} CPU (median of {RUNS}); {big_seen:,} active",
            None,
        ),
        Result(
            GROUP,
            "poll + scrape cycle, 50 LiveKit + 50 Livepeer targets of 20 sessions each",
            f"≤ {MAX_RATIO:g} x the reference",
            f"**{fmt_ms(median(small))}** CPU (median of {RUNS}; {ratio:.2f} x the reference); "
            f"{small_seen:,} active",
            ratio <= MAX_RATIO,
        ),
        Result(
            GROUP,
            "memory per extra target (no sessions, after its first poll; tracemalloc)",
            "stated in the README",
            f"{per_target / 1024:.0f} KiB per target",
            None,
        ),
    ]
