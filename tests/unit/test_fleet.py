"""The fleet of targets, driven by a fake clock over fake sources (targets.md, "Reload" and
"Precise points"): first polls spread per identity, and what :meth:`Fleet.apply` keeps,
restarts, adds and removes."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio
import pytest
from prometheus_client import CollectorRegistry

from exporter.config.secrets import Secret
from exporter.config.targets import Shard, TargetSettings, spread
from exporter.exposition.self_metrics import SelfMetrics
from exporter.exposition.store import Store
from exporter.fleet import Changes, Fleet
from exporter.logs import get_logger
from exporter.poller import Poller, Target
from exporter.sources.base import SourceSpec, TargetContext
from tests.support.fakes import FakeClock, FakeSnapshot, FakeSource, Step, eventually, hang

pytestmark = pytest.mark.anyio

A = "fake_a"
B = "fake_b"
INTERVAL = 10.0


@dataclass(frozen=True)
class FakeTargetSettings:
    """A fake target's settings; ``version`` stands for any other setting."""

    identity: str
    poll_interval: float = INTERVAL
    version: int = 0
    secrets: tuple[Secret, ...] = ()
    target: str | None = None


def target(
    name: str,
    identity: str,
    *,
    kind: str = A,
    enabled: bool = True,
    poll_interval: float = INTERVAL,
    version: int = 0,
) -> TargetSettings:
    options = FakeTargetSettings(identity, poll_interval, version)
    return TargetSettings(kind, name, identity, options, enabled=enabled)


@dataclass
class Kind:
    """A fake source kind: builds a new :class:`FakeSource` per target and remembers it.

    Each source plays ``scripts[name]`` if set when it is built, else a snapshot whose value
    is the number of sources built for that name so far (so data tells builds apart)."""

    kind: str
    built: list[FakeSource] = field(default_factory=list)
    scripts: dict[str, Sequence[Step]] = field(default_factory=dict)

    def build(self, settings: FakeTargetSettings, context: TargetContext) -> FakeSource:
        generation = 1 + sum(s.target == context.name for s in self.built)
        script = self.scripts.pop(
            context.name, [FakeSnapshot({"v": generation}, target=context.name)]
        )
        source = FakeSource(
            script, kind=self.kind, target=context.name, interval=settings.poll_interval
        )
        source.context = context
        self.built.append(source)
        return source

    def spec(self) -> SourceSpec[FakeTargetSettings]:
        return SourceSpec(
            kind=self.kind,
            section=self.kind,
            flags=(),
            secrets=(),
            enable_hint="nothing to set",
            configure=lambda resolver, reader: FakeTargetSettings("unused"),
            build=self.build,
        )

    def source(self, name: str) -> FakeSource:
        """The latest source built for ``name``."""
        return [s for s in self.built if s.target == name][-1]


@dataclass
class Rig:
    clock: FakeClock
    registry: CollectorRegistry
    store: Store
    poller: Poller
    fleet: Fleet
    kinds: dict[str, Kind]
    started: float
    """Monotonic time when the rig started."""

    def value(self, name: str, kind: str, target: str, **extra: str) -> float | None:
        labels = {"source": kind, "target": target, **extra}
        return self.registry.get_sample_value(f"livesession_exporter_{name}", labels)

    def polls(self, name: str, kind: str = A) -> float | None:
        return self.value("source_polls_total", kind, name)

    def series_of(self, name: str) -> list[str]:
        """Every self-metric sample labelled ``target=name``."""
        return [
            f"{sample.name}{sample.labels}"
            for family in self.registry.collect()
            for sample in family.samples
            if sample.labels.get("target") == name
        ]

    def info(self) -> set[tuple[str, str, str]]:
        """(source, target, identity) of every target_info series."""
        return {
            (s.labels["source"], s.labels["target"], s.labels["identity"])
            for family in self.registry.collect()
            for s in family.samples
            if s.name == "livesession_exporter_target_info"
        }

    def data(self) -> str:
        """The data series a scrape would serve now."""
        fresh = self.store.fresh(self.clock.monotonic())
        return b"".join(published.chunk.text.raw for published in fresh).decode()

    def by_name(self) -> dict[str, Target]:
        return {t.source.target: t for t in self.fleet.targets}

    async def until(self, name: str, polls: int, kind: str = A) -> None:
        """Wait until target ``name``'s latest source has started ``polls`` polls and the
        poll's outcome is recorded."""
        source = self.kinds[kind].source(name)

        def done() -> bool:
            status = {(s.source, s.target): s for s in self.store.statuses()}.get((kind, name))
            return source.polls == polls and status is not None and status.attempted

        await eventually(done, message=f"{kind}/{name}: {polls} polls")
        await anyio.wait_all_tasks_blocked()


@asynccontextmanager
async def fleet_rig(shard: Shard | None = None) -> AsyncIterator[Rig]:
    """A fleet of two fake kinds on a fake clock, its poller running until the block ends."""
    clock = FakeClock()
    registry = CollectorRegistry()
    metrics = SelfMetrics(registry)
    store = Store(stale_after=300.0)
    log = get_logger()
    poller = Poller(store, clock, log, rand=lambda: 0.0)
    kinds = {kind: Kind(kind) for kind in (A, B)}
    fleet = Fleet(
        specs=[k.spec() for k in kinds.values()],
        shard=shard or Shard(),
        poll_timeout=5.0,
        metrics=metrics,
        store=store,
        poller=poller,
        clock=clock,
        log=log,
    )
    async with anyio.create_task_group() as tg:
        await tg.start(poller.run)
        try:
            yield Rig(clock, registry, store, poller, fleet, kinds, clock.monotonic())
        finally:
            await fleet.aclose()
            tg.cancel_scope.cancel()


async def walk_first_polls(rig: Rig, delays: dict[str, float]) -> None:
    """Advance to each target's expected first poll: not before it, at it exactly."""
    await anyio.wait_all_tasks_blocked()  # the new loops are asleep, their delays counting
    for name, delay in sorted(delays.items(), key=lambda item: item[1]):
        due = rig.started + delay
        await rig.clock.advance(due - 1e-6 - rig.clock.monotonic())
        assert rig.kinds[A].source(name).polls == 0, f"{name} polled before {delay:.6f} s"
        await rig.clock.advance(2e-6)
        await rig.until(name, 1)


SEVERAL = {
    "alpha": ("p_alpha", INTERVAL),
    "bravo": ("p_bravo", INTERVAL),
    "charlie": ("p_charlie", INTERVAL),
    "delta": ("p_delta", 2 * INTERVAL),
}
"""Targets of kind A: name → (identity, interval); delta has a longer interval."""


def several(order: Sequence[str] = tuple(SEVERAL)) -> list[TargetSettings]:
    return [target(name, SEVERAL[name][0], poll_interval=SEVERAL[name][1]) for name in order]


def delays() -> dict[str, float]:
    """Each target's first-poll point: ``spread(identity, its interval)``. The contract fixes
    only that the point is in the interval and depends on the identity alone (checked below),
    not the function, so the exporter's own is the oracle here."""
    return {name: spread(identity, iv) for name, (identity, iv) in SEVERAL.items()}


# -- first polls ------------------------------------------------------------------------------


def test_the_chosen_identities_spread_apart() -> None:
    """The targets below start at distinct points inside their interval, none at 0."""
    expected = delays()
    assert len({round(d, 3) for d in expected.values()}) == len(expected)
    for name, delay in expected.items():
        assert 0.1 < delay < SEVERAL[name][1], name


async def test_first_polls_of_several_targets_of_a_source_are_spread() -> None:
    """Several targets of one source starting together: none polls at once, each at
    spread(identity, its interval); the one target of another source polls at once."""
    async with fleet_rig() as rig:
        changes = await rig.fleet.apply([*several(), target("solo", "p_solo", kind=B)])
        assert changes == Changes(
            added=("fake_a/alpha", "fake_a/bravo", "fake_a/charlie", "fake_a/delta", "fake_b/solo")
        )
        await rig.until("solo", 1, kind=B)
        assert all(rig.kinds[A].source(name).polls == 0 for name in SEVERAL)
        await walk_first_polls(rig, delays())
        # meanwhile the lone target polls on its own schedule, from the start
        await rig.until("solo", 1 + int((rig.clock.monotonic() - rig.started) // INTERVAL), B)


async def test_started_later_the_first_polls_are_spread_the_same_way() -> None:
    """``apply(start=False)`` builds without polling; :meth:`Fleet.start` then spreads the
    first polls like a start does (how the process starts: build, then start)."""
    async with fleet_rig() as rig:
        await rig.fleet.apply([*several(), target("solo", "p_solo", kind=B)], start=False)
        assert rig.poller.running == frozenset()
        await rig.clock.advance(3 * INTERVAL)
        assert all(s.polls == 0 for k in rig.kinds.values() for s in k.built)
        rig.started = rig.clock.monotonic()
        rig.fleet.start()
        await rig.until("solo", 1, kind=B)
        await walk_first_polls(rig, delays())
        assert rig.fleet.polling


async def test_the_spread_depends_on_identity_not_order_or_run() -> None:
    """Another start, with the targets listed in another order, polls at the same points."""
    schedules = []
    for order in (tuple(SEVERAL), tuple(reversed(SEVERAL))):
        async with fleet_rig() as rig:
            await rig.fleet.apply(several(order))
            await anyio.wait_all_tasks_blocked()
            schedules.append([d - rig.started for d in rig.clock.sleepers])
    assert schedules[0] == pytest.approx(schedules[1])
    assert schedules[0] == pytest.approx(sorted(delays().values()))


def test_the_spread_is_a_point_of_the_interval_fixed_by_the_identity() -> None:
    """Same identity, same point (any run); always inside [0, interval); scales with it."""
    for identity in ("p_alpha", "sha256:0123456789abcdef", "", "p_日本"):
        first = spread(identity, INTERVAL)
        assert first == spread(identity, INTERVAL)
        assert 0 <= first < INTERVAL
        assert spread(identity, 3 * INTERVAL) == pytest.approx(3 * first)


async def test_ids_differing_in_their_last_character_poll_apart() -> None:
    """Projects named in sequence (p_001 ... p_006, as a platform creating one project per
    customer names them) start together: their first polls fall at distinct points across
    the interval, never at one instant."""
    names = [f"p_00{i}" for i in range(1, 7)]
    async with fleet_rig() as rig:
        await rig.fleet.apply([target(name, name) for name in names])
        await anyio.wait_all_tasks_blocked()
        points = [deadline - rig.started for deadline in rig.clock.sleepers]
        assert points == pytest.approx(sorted(spread(name, INTERVAL) for name in names))
        gaps = [b - a for a, b in itertools.pairwise(points)]
        assert min(gaps) > INTERVAL / 100, points
        assert points[-1] - points[0] > INTERVAL / 2, points


async def test_a_single_target_of_each_source_polls_at_once() -> None:
    """One target per source: no spread, both poll at start."""
    async with fleet_rig() as rig:
        await rig.fleet.apply([target("one", "p_solo"), target("two", "p_charlie", kind=B)])
        await rig.until("one", 1)
        await rig.until("two", 1, kind=B)
        assert rig.clock.monotonic() == rig.started


async def test_several_targets_added_by_a_reload_are_spread() -> None:
    """Targets added together to a running fleet are spread too; the ones running are not
    touched."""
    async with fleet_rig() as rig:
        began = rig.started
        await rig.fleet.apply([target("first", "p_echo")])
        await rig.until("first", 1)
        await rig.clock.advance(1.0)
        rig.started = rig.clock.monotonic()
        changes = await rig.fleet.apply([target("first", "p_echo"), *several()])
        assert changes.unchanged == 1
        assert set(changes.added) == {f"fake_a/{name}" for name in SEVERAL}
        await walk_first_polls(rig, delays())
        assert rig.kinds[A].built[0].target == "first"
        assert len(rig.kinds[A].built) == 1 + len(SEVERAL)  # not rebuilt
        await rig.until("first", 1 + int((rig.clock.monotonic() - began) // INTERVAL))


# -- what a reload changes --------------------------------------------------------------------


async def test_an_unchanged_target_keeps_its_source_loop_and_counters() -> None:
    """The same target again: same Target and Source objects, no new build, no extra poll,
    its schedule and counters as they were."""
    async with fleet_rig() as rig:
        await rig.fleet.apply([target("x", "p_x")])
        await rig.until("x", 1)
        (before,) = rig.fleet.targets
        schedule = rig.clock.sleepers
        changes = await rig.fleet.apply([target("x", "p_x")])
        await anyio.wait_all_tasks_blocked()
        assert changes == Changes(unchanged=1)
        (after,) = rig.fleet.targets
        assert after is before
        assert len(rig.kinds[A].built) == 1
        assert rig.kinds[A].source("x").polls == 1
        assert rig.clock.sleepers == schedule
        assert rig.poller.running == {(A, "x")}
        assert rig.polls("x") == 1
        await rig.clock.advance(INTERVAL)
        await rig.until("x", 2)
        assert rig.polls("x") == 2


async def test_changed_settings_restart_with_a_new_source_keeping_data_and_counters() -> None:
    """A changed setting: the old loop stops, a new source polls; the counters continue and
    the last good data is served until a poll of the new source replaces it."""
    async with fleet_rig() as rig:
        await rig.fleet.apply([target("x", "p_x")])
        await rig.until("x", 1)
        old = rig.by_name()["x"]
        assert 'fake_v{project="p_test",target="x"} 1.0' in rig.data()
        rig.kinds[A].scripts["x"] = [hang]  # the new source's first poll hangs
        changes = await rig.fleet.apply([target("x", "p_x", version=1)])
        assert changes == Changes(changed=("fake_a/x",))
        new = rig.by_name()["x"]
        assert old.source is rig.kinds[A].built[0]
        assert new.source is not old.source
        assert new.telemetry is old.telemetry
        await eventually(lambda: rig.polls("x") == 2, message="the new source's poll started")
        assert 'fake_v{project="p_test",target="x"} 1.0' in rig.data()  # still served
        assert rig.value("source_up", A, "x") == 1
        assert rig.info() == {(A, "x", "p_x")}
        await rig.clock.advance(3 * INTERVAL)
        assert rig.kinds[A].built[0].polls == 1  # the old loop is over
        assert rig.value("source_poll_errors_total", A, "x", reason="timeout") == 1
        assert 'fake_v{project="p_test",target="x"} 1.0' in rig.data()  # not yet stale


async def test_a_changed_target_serves_its_new_data_after_its_next_poll() -> None:
    """After the restart the new source's data replaces the old, under the same counters."""
    async with fleet_rig() as rig:
        await rig.fleet.apply([target("x", "p_x")])
        await rig.until("x", 1)
        await rig.fleet.apply([target("x", "p_x", poll_interval=2 * INTERVAL)])
        await eventually(lambda: rig.polls("x") == 2, message="the new source polled")
        await rig.until("x", 1)
        assert 'fake_v{project="p_test",target="x"} 2.0' in rig.data()
        assert 'target="x"} 1.0' not in rig.data()
        assert rig.kinds[A].source("x").interval == 2 * INTERVAL


async def test_a_removed_target_stops_and_its_data_and_series_go_at_once() -> None:
    """Removed: its loop stops, its store entry and data go, and every self-metric series
    labelled with it; the other target is untouched."""
    async with fleet_rig() as rig:
        await rig.fleet.apply([target("x", "p_x"), target("y", "p_y", kind=B)])
        await rig.until("x", 1)
        await rig.until("y", 1, kind=B)
        kept = rig.by_name()["y"]
        assert rig.series_of("x")
        changes = await rig.fleet.apply([target("y", "p_y", kind=B)])
        assert changes == Changes(removed=("fake_a/x",), unchanged=1)
        assert rig.series_of("x") == []
        assert 'target="x"' not in rig.data()
        assert 'target="y"' in rig.data()
        assert [(s.source, s.target) for s in rig.store.statuses()] == [(B, "y")]
        assert rig.poller.running == {(B, "y")}
        assert rig.by_name() == {"y": kept}
        await rig.clock.advance(3 * INTERVAL)
        assert rig.kinds[A].source("x").polls == 1
        assert rig.series_of("x") == []


async def test_a_disabled_target_is_removed_like_a_deleted_one() -> None:
    """``enabled: false``: no loop, no data, no series, no target_info."""
    async with fleet_rig() as rig:
        await rig.fleet.apply([target("x", "p_x")])
        await rig.until("x", 1)
        changes = await rig.fleet.apply([target("x", "p_x", enabled=False)])
        assert changes == Changes(removed=("fake_a/x",))
        assert rig.series_of("x") == []
        assert rig.info() == set()
        assert rig.data() == ""
        assert rig.poller.running == frozenset()


async def test_a_renamed_target_publishes_under_its_new_name_only() -> None:
    """Same account, new name: the old name's data and series go, the new name's appear."""
    async with fleet_rig() as rig:
        await rig.fleet.apply([target("old", "p_x")])
        await rig.until("old", 1)
        changes = await rig.fleet.apply([target("new", "p_x")])
        assert changes == Changes(added=("fake_a/new",), removed=("fake_a/old",))
        await rig.until("new", 1)
        assert rig.series_of("old") == []
        assert 'target="old"' not in rig.data()
        assert 'target="new"' in rig.data()
        assert rig.info() == {(A, "new", "p_x")}
        assert rig.polls("new") == 1


async def test_another_account_under_the_same_name_starts_new_counters() -> None:
    """A changed identity is another target: the old one's series go, counters restart."""
    async with fleet_rig() as rig:
        await rig.fleet.apply([target("x", "p_first")])
        await rig.until("x", 1)
        await rig.clock.advance(INTERVAL)
        await rig.until("x", 2)
        assert rig.polls("x") == 2
        changes = await rig.fleet.apply([target("x", "p_second")])
        assert changes == Changes(added=("fake_a/x",), removed=("fake_a/x",))
        assert rig.info() == {(A, "x", "p_second")}
        await rig.until("x", 1)
        assert rig.polls("x") == 1
        assert 'fake_v{project="p_test",target="x"} 2.0' in rig.data()  # a new source's data


async def test_only_this_shards_targets_are_built() -> None:
    """A target the shard does not own gets no source, loop, store entry or series."""
    identities = [f"p_{i}" for i in range(12)]
    async with fleet_rig(Shard(1, 3)) as rig:
        owned = {i for i in identities if Shard(1, 3).owns(i)}
        assert 0 < len(owned) < len(identities)
        await rig.fleet.apply([target(i, i) for i in identities], start=False)
        assert {t.source.target for t in rig.fleet.targets} == owned
        assert {s.target for s in rig.store.statuses()} == owned
        assert {name for _, name, _ in rig.info()} == owned
        assert {s.target for s in rig.kinds[A].built} == owned


async def test_aclose_stops_every_loop() -> None:
    async with fleet_rig() as rig:
        await rig.fleet.apply([target("x", "p_x"), target("y", "p_y", kind=B)])
        await rig.until("x", 1)
        await rig.fleet.aclose()
        assert rig.poller.running == frozenset()
        await rig.clock.advance(3 * INTERVAL)
        assert rig.kinds[A].source("x").polls == 1
