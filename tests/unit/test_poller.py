"""The poll engine, driven by a fake clock: schedule, deadline, backoff, Retry-After, staleness."""

from __future__ import annotations

import gc
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from exporter.errors import AuthError, PayloadError, RateLimitedError, UpstreamError
from exporter.exposition.self_metrics import SelfMetrics
from exporter.exposition.store import Store
from exporter.logs import get_logger
from exporter.poller import MAX_BACKOFF, Backoff, Poller, Target
from tests.support.fakes import FakeClock, FakeSnapshot, FakeSource, Step, eventually, hang

pytestmark = pytest.mark.anyio
LABELS = {"source": "fake_source", "target": "t1"}


@dataclass
class Rig:
    clock: FakeClock
    source: FakeSource
    store: CountingStore
    registry: CollectorRegistry
    poller: Poller

    def value(self, name: str, **extra: str) -> float | None:
        return self.registry.get_sample_value(name, {**LABELS, **extra})

    @property
    def up(self) -> float | None:
        return self.value("livesession_exporter_source_up")

    def errors(self, reason: str) -> float | None:
        return self.value("livesession_exporter_source_poll_errors_total", reason=reason)


class CountingStore(Store):
    """A store that counts the polls recorded in it, success or failure.

    The poller records a poll and registers its next sleep with no checkpoint in between, so
    ``recorded == n`` seen from another task means poll n is over and the loop is asleep."""

    recorded = 0

    def publish(self, *args: Any, **kwargs: Any) -> None:
        super().publish(*args, **kwargs)
        self.recorded += 1

    def fail(self, *args: Any, **kwargs: Any) -> None:
        super().fail(*args, **kwargs)
        self.recorded += 1


@asynccontextmanager
async def running(
    script: Sequence[Step], *, interval: float = 30.0, deadline: float = 20.0, rand: float = 0.0
) -> AsyncIterator[Rig]:
    """A poller over one fake source, its loop running until the block ends."""
    clock = FakeClock()
    source = FakeSource(script, interval=interval)
    registry = CollectorRegistry()
    telemetry = SelfMetrics(registry).target(source.kind, source.target, source.target)
    store = CountingStore(stale_after=300.0)
    store.register(source.kind, source.target)
    poller = Poller(store, clock, get_logger(), rand=lambda: rand)
    async with anyio.create_task_group() as tg:
        await tg.start(poller.run)
        poller.start(Target(source, telemetry, deadline))
        rig = Rig(clock, source, store, registry, poller)
        if script[0] is hang:  # the first poll never ends: wait for it to be under way
            await eventually(lambda: bool(clock.sleepers), message="first poll under way")
        else:
            await settle(rig, 1)
        yield rig
        tg.cancel_scope.cancel()


async def settle(rig: Rig, polls: int) -> None:
    """Wait until the loop has recorded ``polls`` polls and gone back to sleep."""
    await eventually(
        lambda: rig.source.polls == polls and rig.store.recorded == polls,
        message=f"{polls} polls recorded",
    )


async def test_success_publishes_and_records() -> None:
    """A successful poll publishes its data and sets up, last success and duration."""
    async with running([FakeSnapshot({"a": 1}, sessions=4, omitted=2)]) as rig:
        assert rig.up == 1
        assert rig.value("livesession_exporter_source_polls_total") == 1
        assert rig.value("livesession_exporter_source_last_success_timestamp_seconds") == (
            rig.clock.time()
        )
        assert rig.value("livesession_exporter_sessions_omitted") == 2
        (published,) = rig.store.fresh(rig.clock.monotonic())
        assert b'fake_a{project="p_test"} 1.0' in published.chunk.text.raw
        assert rig.store.ready
        (status,) = rig.store.statuses()
        assert (status.up, status.sessions, status.last_error) == (True, 4, None)


async def test_polls_start_one_interval_apart() -> None:
    """After a success the next poll starts one interval after the previous start."""
    async with running([FakeSnapshot({})], interval=30) as rig:
        start = rig.clock.monotonic()
        assert rig.clock.sleepers[-1] == start + 30
        await rig.clock.advance(29.9)
        assert rig.source.polls == 1
        await rig.clock.advance(0.1)
        await settle(rig, 2)
        assert rig.value("livesession_exporter_source_polls_total") == 2


async def test_failures_back_off_exponentially_up_to_the_cap() -> None:
    """Consecutive failures wait interval, 2x, 4x ... up to the cap; success resets it."""
    error = UpstreamError("HTTP 503", reason="server_error")
    script: list[Step] = [*([error] * 6), FakeSnapshot({})]
    async with running(script, interval=60) as rig:
        expected = [60, 120, 240, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF]
        for polls, delay in enumerate(expected, start=1):
            now = rig.clock.monotonic()
            assert rig.clock.sleepers[-1] == pytest.approx(now + delay), polls
            await rig.clock.advance(delay)
            await settle(rig, polls + 1)
        assert rig.errors("server_error") == 6
        assert rig.up == 1
        assert rig.clock.sleepers[-1] == pytest.approx(rig.clock.monotonic() + 60)


def test_backoff_jitter_only_lengthens() -> None:
    """Jitter spreads delays upward by at most 25 %, never below the interval."""
    backoff = Backoff(interval=30)
    assert backoff.delay(0, 0.99) == 30
    assert backoff.delay(1, 0.0) == 30
    assert backoff.delay(1, 0.99) == pytest.approx(30 * 1.2475)
    assert backoff.delay(3, 0.5) == pytest.approx(120 * 1.125)
    assert backoff.delay(100, 0.0) == MAX_BACKOFF
    assert Backoff(interval=900).delay(5, 0.0) == 900


async def test_retry_after_holds_off_the_next_poll() -> None:
    """A 429 with Retry-After: 100 means no poll for 100 s, even with a 30 s interval."""
    async with running([RateLimitedError("HTTP 429", retry_after=100), FakeSnapshot({})]) as rig:
        assert rig.errors("rate_limited") == 1
        start = rig.clock.monotonic()
        assert rig.clock.sleepers[-1] == pytest.approx(start + 100)
        await rig.clock.advance(99)
        assert rig.source.polls == 1
        await rig.clock.advance(1)
        await settle(rig, 2)
        assert rig.up == 1


async def test_deadline_abandons_a_hung_poll() -> None:
    """A poll that outlives its deadline is cancelled and counted as a timeout."""
    async with running([hang, FakeSnapshot({})], interval=30, deadline=20) as rig:
        await rig.clock.advance(20)
        await eventually(lambda: rig.errors("timeout") == 1, message="timeout counted")
        assert rig.up == 0
        await rig.clock.advance(30)
        await settle(rig, 2)
        assert rig.up == 1


async def test_polls_never_overlap() -> None:
    """While a poll runs past its interval, no second poll of the target starts."""
    async with running([hang, FakeSnapshot({})], interval=5, deadline=60) as rig:
        for _ in range(10):
            await rig.clock.advance(5)
        assert rig.source.polls == 1
        await rig.clock.advance(10)
        await eventually(lambda: rig.source.polls == 2)


async def test_a_bug_costs_one_poll_not_the_loop() -> None:
    """An unexpected exception counts as reason internal and the loop goes on."""
    with capture_logs() as logs:
        async with running([ZeroDivisionError("boom"), FakeSnapshot({})]) as rig:
            assert rig.errors("internal") == 1
            await rig.clock.advance(30)
            await settle(rig, 2)
            assert rig.up == 1
            assert rig.poller.alive
    assert any(entry["event"] == "poll_crashed" for entry in logs)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (AuthError("HTTP 401"), "auth"),
        (UpstreamError("t", reason="timeout"), "timeout"),
        (UpstreamError("c", reason="connection"), "connection"),
        (UpstreamError("x", reason="client_error"), "client_error"),
        (PayloadError("bad"), "invalid_response"),
    ],
)
async def test_typed_errors_map_to_reasons(error: Exception, reason: str) -> None:
    """Each typed source error is counted under its own reason label."""
    async with running([error]) as rig:
        assert rig.errors(reason) == 1
        assert rig.up == 0
        (status,) = rig.store.statuses()
        assert (status.attempted, status.up, status.last_error) == (True, False, reason)


class _Body:
    """Stands in for a response body that a failing poll held in a local variable."""


async def test_a_failed_poll_releases_its_frames_without_waiting_for_the_gc() -> None:
    """A failed poll's locals are freed at once: its error keeps no traceback or chained
    exception, which would tie them (a body of up to 32 MiB each) into a reference cycle
    through the poller until a full garbage collection."""
    held: list[weakref.ref[_Body]] = []

    async def fails() -> FakeSnapshot:
        body = _Body()
        held.append(weakref.ref(body))
        try:
            raise ValueError("not JSON")
        except ValueError:
            raise PayloadError("bad body") from None

    gc.disable()
    try:
        async with running([fails]) as rig:
            assert rig.errors("invalid_response") == 1
            assert held[0]() is None
    finally:
        gc.enable()


async def test_last_good_data_is_served_until_stale() -> None:
    """A failing target keeps its last data for stale-after, then its data disappears."""
    failing = UpstreamError("HTTP 500", reason="server_error")
    async with running([FakeSnapshot({"a": 1}), failing], interval=60) as rig:
        await rig.clock.advance(60)
        await settle(rig, 2)
        assert rig.up == 0
        assert len(rig.store.fresh(rig.clock.monotonic())) == 1
        await rig.clock.advance(240)  # 300 s since the success: still fresh
        assert len(rig.store.fresh(rig.clock.monotonic())) == 1
        await rig.clock.advance(1)
        assert rig.store.fresh(rig.clock.monotonic()) == ()


async def test_one_summary_line_per_poll() -> None:
    """Each poll logs poll_succeeded or poll_failed with source, target, duration and reason."""
    with capture_logs() as logs:
        async with running(
            [FakeSnapshot({}, sessions=3), RateLimitedError("HTTP 429", retry_after=7.2)]
        ) as rig:
            await rig.clock.advance(30)
            await settle(rig, 2)
    ok, failed = (e for e in logs if e["event"] in ("poll_succeeded", "poll_failed"))
    assert ok["event"] == "poll_succeeded"
    assert (ok["source"], ok["target"], ok["sessions"]) == ("fake_source", "t1", 3)
    assert "duration_s" in ok
    assert failed["event"] == "poll_failed"
    assert (failed["reason"], failed["retry_after_s"], failed["error"]) == (
        "rate_limited",
        8,
        "HTTP 429",
    )


async def test_poll_all_once_reports_overall_success() -> None:
    """--once polls every target once and says whether all succeeded."""
    clock = FakeClock()
    registry = CollectorRegistry()
    metrics = SelfMetrics(registry)
    good = FakeSource([FakeSnapshot({})], kind="good")
    bad = FakeSource([AuthError("HTTP 401")], kind="bad")
    targets = [Target(s, metrics.target(s.kind, s.target, s.target), 5.0) for s in (good, bad)]
    store = Store(300)
    for source in (good, bad):
        store.register(source.kind, source.target)
    poller = Poller(store, clock, get_logger())
    assert not store.ready
    assert not await poller.poll_all_once(targets)
    assert store.ready
    assert await poller.poll_all_once(targets[:1])


async def test_stop_cancels_an_in_flight_poll_and_waits_for_its_end() -> None:
    """Stopping a target's loop cancels its hung poll and returns once the loop is over,
    so a restarted loop never overlaps the old one; the poller stays alive."""
    async with running([hang]) as rig:
        key = ("fake_source", "t1")
        assert rig.poller.running == {key}
        stopped = await rig.poller.stop(key)
        assert stopped.source is rig.source
        assert rig.poller.running == frozenset()
        assert rig.clock.sleepers == []  # neither the poll's deadline nor a loop sleep is left
        assert rig.poller.alive
        await rig.clock.advance(60)
        assert rig.source.polls == 1


async def test_a_loop_starts_after_its_delay() -> None:
    """``start(target, delay)`` makes the first poll wait ``delay`` seconds."""
    clock = FakeClock()
    source = FakeSource([FakeSnapshot({})], interval=30)
    metrics = SelfMetrics(CollectorRegistry())
    store = Store(300)
    store.register(source.kind, source.target)
    poller = Poller(store, clock, get_logger())
    async with anyio.create_task_group() as tg:
        await tg.start(poller.run)
        poller.start(Target(source, metrics.target("fake_source", "t1", "t1"), 5.0), 12.5)
        await anyio.wait_all_tasks_blocked()
        assert source.polls == 0
        await clock.advance(12.4)
        assert source.polls == 0
        await clock.advance(0.1)
        await eventually(lambda: source.polls == 1, message="first poll after the delay")
        tg.cancel_scope.cancel()
