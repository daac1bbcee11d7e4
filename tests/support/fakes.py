"""A fake clock, a scriptable fake source, and a condition poller.

Tests drive time with :class:`FakeClock` instead of sleeping, and wait for asynchronous effects
with :func:`eventually` (a condition polled against a deadline), never with fixed sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

import anyio
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporter.config.secrets import Secret
from exporter.errors import SourceError
from exporter.sources.base import Source, SourceSpec, TargetContext


class FakeClock:
    """Monotonic and wall time that move only when a test calls :meth:`advance`.

    Calling the clock returns its wall time, so the same clock can drive the simulator's world
    (``SimulatorConfig(clock=...)``) and the exporter in step.
    """

    def __init__(self, wall: float = 1_800_000_000.0) -> None:
        self._mono = 1000.0
        self._wall = wall
        self._sleepers: list[tuple[float, anyio.Event]] = []

    def monotonic(self) -> float:
        return self._mono

    def time(self) -> float:
        return self._wall

    __call__ = time

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        sleeper = (self._mono + seconds, anyio.Event())
        self._sleepers.append(sleeper)
        try:
            await sleeper[1].wait()
        finally:
            # a cancelled sleep (a poll's deadline, once the poll is done) is no longer pending
            if sleeper in self._sleepers:
                self._sleepers.remove(sleeper)

    @property
    def sleepers(self) -> list[float]:
        """Monotonic deadlines of the sleeps in progress (for asserting schedules)."""
        return sorted(deadline for deadline, event in self._sleepers if not event.is_set())

    async def advance(self, seconds: float) -> None:
        """Move time forward, wake every sleep that is due, and let the woken tasks run."""
        self._mono += seconds
        self._wall += seconds
        due = [(d, e) for d, e in self._sleepers if d <= self._mono]
        self._sleepers = [(d, e) for d, e in self._sleepers if d > self._mono]
        for _, event in due:
            event.set()
        await anyio.wait_all_tasks_blocked()


async def eventually(
    condition: Callable[[], bool], within: float = 5.0, message: str = "condition"
) -> None:
    """Poll ``condition`` until true; fail after ``within`` real seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} not met within {within}s")
        await anyio.sleep(0.005)


@dataclass(frozen=True)
class FakeSnapshot:
    """A snapshot with one gauge per (name, value) of ``values``."""

    values: dict[str, float]
    sessions: int = 0
    omitted: int = 0
    target: str | None = None
    """When set, every series is labelled with it, as the real sources label theirs."""

    def families(self) -> Iterable[Metric]:
        labels = ["project"] if self.target is None else ["target", "project"]
        values = ["p_test"] if self.target is None else [self.target, "p_test"]
        for name, value in self.values.items():
            family = GaugeMetricFamily(f"fake_{name}", f"Fake value {name}.", labels=labels)
            family.add_metric(values, value)
            yield family


Step = FakeSnapshot | SourceError | Exception | Callable[[], Awaitable[FakeSnapshot]]


@dataclass
class FakeSource:
    """Plays back scripted outcomes, one per poll; the last one repeats."""

    script: Sequence[Step]
    kind: str = "fake_source"
    target: str = "t1"
    interval: float = 30.0
    polls: int = 0
    context: TargetContext | None = field(default=None, repr=False)

    async def poll(self) -> FakeSnapshot:
        step = self.script[min(self.polls, len(self.script) - 1)]
        self.polls += 1
        await anyio.lowlevel.checkpoint()
        if isinstance(step, BaseException):
            raise step
        if callable(step):
            return await step()
        return step

    def families(self, snapshot: FakeSnapshot) -> Iterable[Metric]:
        return snapshot.families()


@dataclass(frozen=True)
class FakeSettings:
    """Settings of a fake source: configured, with the source's target."""

    target: str
    poll_interval: float = 30.0
    secrets: tuple[Secret, ...] = ()

    @property
    def identity(self) -> str:
        return self.target


def spec_for(source: FakeSource) -> SourceSpec[FakeSettings]:
    """A source spec, with no flags, that plugs ``source`` into the composition root."""

    def build(settings: FakeSettings, context: TargetContext) -> Source[FakeSnapshot]:
        source.context = context
        return source

    return SourceSpec(
        kind=source.kind,
        section="fake",
        flags=(),
        secrets=(),
        enable_hint="nothing to set",
        configure=lambda resolver, reader: FakeSettings(source.target, source.interval),
        build=build,
    )


async def hang() -> FakeSnapshot:
    """A poll that never finishes on its own."""
    await anyio.sleep_forever()
    raise AssertionError("unreachable")
