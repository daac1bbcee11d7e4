"""The real exporter process polling an in-thread simulator of both APIs, for the fault matrix.

:func:`fault_rig` starts the simulator (faults switchable from the test thread), then
``python -m exporter`` configured for both sources with short intervals, and waits for its
first good polls. Every :meth:`Rig.scrape` then checks "nothing lost" (quality.md): the process
is running, ``build_info`` and every target's self-metrics are exposed, no self-metric
counter ever goes down, and each *guarded* target (the one the fault is not aimed at) is up,
has its aggregates, keeps polling successfully, and has not failed a poll since it was
guarded. Tests wait on conditions over scrapes, so the invariants are checked
throughout a fault, not only at its end.

Worlds come in two kinds: :func:`frozen_world` stands still at the current instant, so the
test thread can read the exact truth the exporter must show; :func:`live_world` moves with the
wall clock, so the request log's timestamps are real and time-window rows can be measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from exporter.simulator import (
    FakeClock,
    LivepeerSessionTruth,
    RecordedRequest,
    Simulator,
    SimulatorConfig,
)
from tests.integration.faults.scrape import Exposition
from tests.support.processes import ExporterProcess, running_simulator, simulator_env, wait_for
from tests.support.simulated import livekit_active

__all__ = [
    "AGGREGATE",
    "BASE_FLAGS",
    "LIVEKIT",
    "LIVEPEER",
    "Rig",
    "exporter_for",
    "fault_rig",
    "frozen_world",
    "live_world",
    "livekit_active",
    "livepeer_active",
    "memory_kib",
]

LIVEKIT: Final = "livekit_cloud"
LIVEPEER: Final = "livepeer_studio"
AGGREGATE: Final = {
    LIVEKIT: "livekit_cloud_sessions_active",
    LIVEPEER: "livepeer_studio_sessions_active",
}
"""A project-level family each source always exposes while its data is fresh."""
API: Final = {LIVEKIT: "livekit", LIVEPEER: "livepeer"}
"""The simulator's ``RecordedRequest.api`` for each source."""
INTERVAL: Final = 1.0
BASE_FLAGS: Final = (
    f"--poll.interval={INTERVAL:g}s",
    "--poll.timeout=5s",
    # a budget that never rations the few sessions these tests use, so every poll is whole
    "--livekit.requests-per-minute=6000",
)
GUARD_FRESH: Final = 10.0
"""A guarded source's last success is never older than this (its polls keep succeeding)."""


def frozen_world(**config: Any) -> SimulatorConfig:
    """A small seeded world standing still at the current instant (exact truth available)."""
    defaults: dict[str, Any] = {"seed": 7, "livekit_sessions": 8, "livepeer_sessions": 8}
    return SimulatorConfig(**{**defaults, "clock": FakeClock(time.time()), **config})


def live_world(**config: Any) -> SimulatorConfig:
    """A small seeded world on the wall clock (request-log timestamps are real time)."""
    defaults: dict[str, Any] = {"seed": 7, "livekit_sessions": 8, "livepeer_sessions": 8}
    return SimulatorConfig(**{**defaults, **config})


@dataclass
class Rig:
    """A running simulator and exporter; scrapes check the "nothing lost" invariants."""

    sim: Simulator
    exporter: ExporterProcess
    targets: dict[str, str]
    """``target`` label of each configured source."""
    guarded: dict[str, float] = field(default_factory=dict)
    """Guarded sources and their failed-poll count when guarding began."""
    counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = field(default_factory=dict)
    """The last value seen of every self-metric counter, which must never go down."""

    # -- scraping ---------------------------------------------------------------------------

    def scrape(self) -> Exposition:
        """One scrape, checked against the invariants; AssertionError names a violation."""
        assert self.exporter.returncode is None, f"exporter exited: {self.exporter.stderr}"
        m = Exposition(self.exporter.scrape())
        self.check(m)
        return m

    def check(self, m: Exposition) -> None:
        build = m.samples("livesession_exporter_build_info")
        assert [s.value for s in build] == [1.0], "build_info missing"
        for source in self.targets:
            for name in ("source_up", "source_polls_total", "sessions_omitted"):
                assert self.stat(m, name, source) is not None, f"{name} of {source} missing"
        for source, errors in self.guarded.items():
            assert self.stat(m, "source_up", source) == 1, f"guarded {source} went down"
            assert self.errors(m, source) == errors, f"guarded {source} failed a poll"
            assert m.has(AGGREGATE[source]), f"guarded {source} lost its aggregates"
            last = self.stat(m, "source_last_success_timestamp_seconds", source) or 0.0
            age = time.time() - last
            assert age < GUARD_FRESH, f"guarded {source} last succeeded {age:.1f} s ago"
        for name in m.names("livesession_exporter_"):
            if name.endswith("_total") or name.endswith("_count"):
                for sample in m.samples(name):
                    key = (name, tuple(sorted(sample.labels.items())))
                    previous = self.counters.get(key, 0.0)
                    assert sample.value >= previous, f"{key} went down from {previous}"
                    self.counters[key] = sample.value

    def wait(
        self, condition: Callable[[Exposition], object], *, within: float = 15, what: str
    ) -> Exposition:
        """Scrape until ``condition`` holds (invariants checked on every scrape); that scrape."""
        found: list[Exposition] = []

        def attempt() -> bool:
            m = self.scrape()
            if condition(m):
                found.append(m)
                return True
            return False

        wait_for(attempt, within=within, what=what)
        return found[0]

    def guard(self, *sources: str) -> Exposition:
        """From now on, ``sources`` must stay up and fail no poll (replaces any earlier guard)."""
        self.guarded = {}
        m = self.scrape()
        self.guarded = {source: self.errors(m, source) for source in sources}
        self.check(m)
        return m

    # -- reading self-metrics ---------------------------------------------------------------

    def stat(self, m: Exposition, name: str, source: str, **labels: str) -> float | None:
        """Self-metric ``livesession_exporter_<name>`` of ``source``'s target."""
        target = self.targets[source]
        return m.value(f"livesession_exporter_{name}", source=source, target=target, **labels)

    def errors(self, m: Exposition, source: str, reason: str | None = None) -> float:
        """Failed polls of ``source`` (for one reason, or all)."""
        labels = {} if reason is None else {"reason": reason}
        name = "livesession_exporter_source_poll_errors_total"
        return m.total(name, source=source, target=self.targets[source], **labels)

    def up(self, m: Exposition, source: str) -> bool:
        return self.stat(m, "source_up", source) == 1

    # -- the simulator's side -------------------------------------------------------------

    def requests(self, source: str, endpoint: str | None = None) -> list[RecordedRequest]:
        """Requests the simulator received for ``source`` (one endpoint, or all), in order."""
        return [
            r
            for r in self.sim.log.records
            if r.api == API[source] and (endpoint is None or r.endpoint == endpoint)
        ]

    def pending(self, endpoint: str, *, since: int = 0) -> RecordedRequest:
        """Wait for a request to ``endpoint``, among log records ``since`` on, that the
        simulator has not answered yet (hanging, or held by a latency fault)."""

        def find() -> RecordedRequest | None:
            fresh = self.sim.log.records[since:]
            return next(
                (r for r in fresh if r.endpoint == endpoint and r.outcome == "pending"), None
            )

        found: RecordedRequest = wait_for(find, within=10, what=f"a pending {endpoint} request")
        return found

    def failed_events(self, source: str) -> list[dict[str, Any]]:
        """The ``poll_failed`` log lines of ``source``."""
        return [e for e in self.exporter.events("poll_failed") if e.get("source") == source]


@contextmanager
def fault_rig(
    config: SimulatorConfig,
    *flags: str,
    guard: Sequence[str] = (),
    up: Sequence[str] = (LIVEKIT, LIVEPEER),
    env: Mapping[str, str] | None = None,
) -> Iterator[Rig]:
    """Simulator + exporter with both sources; yields once every source in ``up`` is up.

    ``env`` overrides the variables pointing the exporter at the simulator (a key mapped to
    ``""`` is removed, to leave a source unconfigured).
    """
    with (
        running_simulator(config) as sim,
        exporter_for(sim, *flags, guard=guard, up=up, env=env) as rig,
    ):
        yield rig


@contextmanager
def exporter_for(
    sim: Simulator,
    *flags: str,
    guard: Sequence[str] = (),
    up: Sequence[str] = (LIVEKIT, LIVEPEER),
    env: Mapping[str, str] | None = None,
) -> Iterator[Rig]:
    """The exporter process polling a running ``sim`` (see :func:`fault_rig`)."""
    endpoints = sim.endpoints
    assert endpoints is not None
    variables = {**simulator_env(endpoints), **(env or {})}
    variables = {k: v for k, v in variables.items() if v}
    with ExporterProcess([*BASE_FLAGS, *flags], variables) as process:
        targets = {LIVEKIT: endpoints.livekit_project_id, LIVEPEER: "default"}
        if "LIVEKIT_PROJECT_ID" not in variables:
            del targets[LIVEKIT]
        if "LIVEPEER_API_KEY" not in variables:
            del targets[LIVEPEER]
        rig = Rig(sim, process, targets)
        rig.wait(
            lambda m: all(rig.up(m, source) for source in up),
            within=30,
            what=f"first good polls of {', '.join(up)}",
        )
        rig.guard(*guard)
        yield rig


# -- the truth the exporter must show --------------------------------------------------------


def livepeer_active(sim: Simulator, window_s: float) -> list[LivepeerSessionTruth]:
    """Sessions of a frozen world seen within ``window_s`` of now (the exporter's rule)."""
    return sim.livepeer.active_sessions(window_s=window_s)


def memory_kib(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` (peak RSS) of a process, in KiB, from /proc."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(rest.split()[0])
    return out
