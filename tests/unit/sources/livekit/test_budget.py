"""The per-project request budget: a token bucket on a fake clock."""

from __future__ import annotations

import anyio
import pytest

from exporter.sources.livekit.budget import MAX_BURST, TokenBucket, capacity_for
from tests.support.fakes import FakeClock, eventually

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("per_minute", "interval", "capacity"),
    [
        (120, 30, 60),  # one interval's share, which is also the cap
        (120, 10, 20),
        (120, 2, 4),
        (120, 300, 120 * MAX_BURST),  # a long interval may not burst the whole minute
        (1, 30, 1),  # always room for one request
        (1000, 0.5, 8 + 1 / 3),
    ],
)
def test_capacity_is_one_interval_share_capped_at_half_a_minute(
    per_minute: float, interval: float, capacity: float
) -> None:
    """Capacity lets a poll spend what accrued since the last one, never more than half a
    minute's budget, never less than one token."""
    assert capacity_for(per_minute, interval) == pytest.approx(capacity)


async def test_bucket_starts_full_and_refills_at_the_budget_rate() -> None:
    """A full bucket spends its capacity at once, then earns rate/60 tokens a second."""
    clock = FakeClock()
    bucket = TokenBucket(120, 4, clock)
    assert [bucket.try_take() for _ in range(5)] == [True] * 4 + [False]
    await clock.advance(0.25)
    assert bucket.available() == pytest.approx(0.5)
    assert not bucket.try_take()
    await clock.advance(0.25)
    assert bucket.try_take()
    await clock.advance(3600)
    assert bucket.available() == 4  # never beyond capacity, however long it was idle


async def test_take_waits_for_a_token_on_the_clock() -> None:
    """take() on an empty bucket sleeps exactly until one token has been earned."""
    clock = FakeClock()
    bucket = TokenBucket(60, 1, clock)
    bucket.try_take()
    taken: list[float] = []

    async def take() -> None:
        await bucket.take()
        taken.append(clock.monotonic())

    async with anyio.create_task_group() as tg:
        tg.start_soon(take)
        await eventually(lambda: bool(clock.sleepers))
        assert clock.sleepers == [pytest.approx(1001.0)]
        await clock.advance(0.999)
        assert taken == []
        await clock.advance(0.001)
        await eventually(lambda: bool(taken))
    assert taken == [pytest.approx(1001.0)]
    assert bucket.available() == pytest.approx(0.0)


async def test_a_minute_never_exceeds_the_budget_plus_one_burst() -> None:
    """Spending greedily for ten minutes takes at most rate x time + capacity tokens."""
    clock = FakeClock()
    bucket = TokenBucket(120, capacity_for(120, 30), clock)
    spent = 0
    for _ in range(600 * 10):
        while bucket.try_take():
            spent += 1
        await clock.advance(0.1)
    assert spent == pytest.approx(120 * 10 + 60, abs=1)


@pytest.mark.parametrize(("per_minute", "capacity"), [(0, 1), (60, 0.5)])
def test_a_budget_that_can_never_pay_is_refused(per_minute: float, capacity: float) -> None:
    """A zero rate or a bucket smaller than one token is a programming error."""
    with pytest.raises(ValueError, match="budget"):
        TokenBucket(per_minute, capacity, FakeClock())
