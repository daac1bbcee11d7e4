"""The in-process integration rig: a running simulator and exporters polling it, on one clock.

``async with simulated(livekit_sessions=40) as rig`` serves a seeded world (any
:class:`SimulatorConfig` keyword; by default seed 11 and both worlds empty) whose clock is a
:class:`~tests.support.fakes.FakeClock`; ``rig.exporter("livekit", *flags)`` builds an exporter
(:func:`~exporter.app.build_exporter`) for the source(s) named, pointed at the simulator as a
user would point it and polling on the same clock, so :meth:`Simulated.advance` moves the
world and the exporter together. Polls run when the test asks (:func:`poll`,
``exporter.poll_all_once()``); :func:`exposition` is what a scrape would return.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import anyio
from prometheus_client import CollectorRegistry

from exporter.app import Exporter, build_exporter
from exporter.config.settings import Settings
from exporter.errors import SourceError
from exporter.simulator import FakeClock as WorldClock
from exporter.simulator import (
    LiveKitSessionTruth,
    Simulator,
    SimulatorConfig,
    SimulatorEndpoints,
)
from exporter.simulator.livekit.model import NS
from exporter.sources.registry import SOURCES
from tests.support.fakes import FakeClock
from tests.support.processes import simulator_env

__all__ = [
    "START",
    "Simulated",
    "Source",
    "exposition",
    "livekit_active",
    "livekit_listed",
    "poll",
    "self_metric",
    "simulated",
]

Source = Literal["livekit", "livepeer"]
START = WorldClock.DEFAULT_START
"""The instant every simulated world starts at, so seeded worlds are the same on every run."""
_ENV_PREFIX: dict[Source, str] = {"livekit": "LIVEKIT_", "livepeer": "LIVEPEER_"}
_FLAGS: dict[Source, tuple[str, ...]] = {
    # a budget that never rations, so every poll is whole (a test's own flag overrides it)
    "livekit": ("--livekit.requests-per-minute=100000",),
    "livepeer": (),
}


@dataclass
class Simulated:
    """A running simulator, where it listens, and the one clock of its world and exporters."""

    sim: Simulator
    endpoints: SimulatorEndpoints
    clock: FakeClock

    @property
    def now(self) -> float:
        """The world's instant (Unix seconds)."""
        return self.sim.clock()

    async def advance(self, seconds: float) -> None:
        """Move the world and every exporter's clock forward together."""
        await self.clock.advance(seconds)

    def settings(
        self, sources: Source | Sequence[Source], *flags: str, env: Mapping[str, str] | None = None
    ) -> Settings:
        """Settings for ``sources`` from the variables a user exports for this simulator,
        then ``flags``; ``env`` overrides those variables."""
        wanted = (sources,) if isinstance(sources, str) else tuple(sources)
        prefixes = tuple(_ENV_PREFIX[source] for source in wanted)
        pointed = {k: v for k, v in simulator_env(self.endpoints).items() if k.startswith(prefixes)}
        argv = [flag for source in wanted for flag in _FLAGS[source]] + list(flags)
        return Settings.from_sources(argv, {**pointed, **(env or {})}, SOURCES)

    @asynccontextmanager
    async def exporter(
        self, sources: Source | Sequence[Source], *flags: str, env: Mapping[str, str] | None = None
    ) -> AsyncIterator[Exporter]:
        """An exporter with :meth:`settings`, on the rig's clock and a fresh registry."""
        settings = self.settings(sources, *flags, env=env)
        async with build_exporter(
            settings, clock=self.clock, registry=CollectorRegistry()
        ) as exporter:
            yield exporter


@asynccontextmanager
async def simulated(*, still: bool = False, **config: Any) -> AsyncIterator[Simulated]:
    """Serve a world of ``config`` (:class:`SimulatorConfig` keywords) until the block ends.

    With ``still`` the world stands at :data:`START` while the exporters' clock moves on.
    """
    clock = FakeClock(wall=START)
    defaults: dict[str, Any] = {"seed": 11, "livekit_sessions": 0, "livepeer_sessions": 0}
    sim = Simulator(
        SimulatorConfig(**{**defaults, "clock": (lambda: START) if still else clock, **config})
    )
    async with anyio.create_task_group() as tg:
        endpoints = await tg.start(sim.run)
        yield Simulated(sim, endpoints, clock)
        tg.cancel_scope.cancel()


def exposition(exporter: Exporter) -> str:
    """The text exposition a scrape of ``exporter`` would return now."""
    fresh = exporter.store.fresh(exporter.clock.monotonic())
    return b"".join(exporter.exposition.body(fresh, "text", gzip=False)).decode()


async def poll(exporter: Exporter) -> SourceError | None:
    """One poll of the exporter's only target, as its loop runs it; the error, if any."""
    (target,) = exporter.fleet.targets
    return await exporter.poller.poll_once(target)


def self_metric(exporter: Exporter, name: str, **labels: str) -> float | None:
    """A ``livesession_exporter_`` sample of the exporter's only target, None if absent."""
    (target,) = exporter.fleet.targets
    source = target.source
    return exporter.registry.get_sample_value(
        f"livesession_exporter_{name}", {"source": source.kind, "target": source.target, **labels}
    )


def livekit_listed(sim: Simulator, lookback_days: int = 1) -> list[LiveKitSessionTruth]:
    """The world's LiveKit sessions that the exporter's list window covers now (from midnight
    UTC ``lookback_days`` ago), ended ones included."""
    now = sim.clock()
    today = dt.datetime.fromtimestamp(now, tz=dt.UTC).date()
    start = today - dt.timedelta(days=lookback_days)
    since = int(dt.datetime(start.year, start.month, start.day, tzinfo=dt.UTC).timestamp())
    return sim.livekit.page(int(now * NS), since_ns=since * NS, until_ns=None, offset=0, limit=None)


def livekit_active(sim: Simulator, lookback_days: int = 1) -> list[LiveKitSessionTruth]:
    """The listed sessions without endedAt."""
    return [truth for truth in livekit_listed(sim, lookback_days) if truth.active]
