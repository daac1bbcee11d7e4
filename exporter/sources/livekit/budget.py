"""A request budget per upstream project: a token bucket on an injected clock.

LiveKit limits API requests per project and minute, and that quota is shared with the user's
own servers, so the exporter spends at most ``--livekit.requests-per-minute`` of it. Every
request of a project (list pages and details alike) takes one token; tokens come back at
``per_minute / 60`` a second, up to the bucket's capacity.

The capacity (:func:`capacity_for`) is one poll interval's share of the budget, so a poll can
spend what accrued since the previous one and no more: even after a long back-off the exporter
never bursts harder than it does in steady state. It is capped at half a minute's budget
(:data:`MAX_BURST`), so no single poll spends the whole minute at once; in any 60 s window the
exporter makes at most 1.5 times the budget, and on average exactly the budget.
"""

from __future__ import annotations

from typing import Final

from exporter.clock import Clock

__all__ = ["MAX_BURST", "TokenBucket", "capacity_for"]

MAX_BURST: Final = 0.5
"""Largest share of a minute's budget one burst (one poll) may spend at once."""


def capacity_for(per_minute: float, interval: float) -> float:
    """Bucket capacity for a budget and a poll interval: one interval's share, capped."""
    share = per_minute * interval / 60.0
    return max(1.0, min(share, per_minute * MAX_BURST))


class TokenBucket:
    """Tokens refill continuously at ``per_minute / 60`` a second up to ``capacity``; it
    starts full. ``available()`` plans, ``try_take()`` spends without waiting, ``take()`` waits
    (on the injected clock) until a token is there."""

    def __init__(self, per_minute: float, capacity: float, clock: Clock) -> None:
        if per_minute <= 0 or capacity < 1:
            raise ValueError("a budget needs a positive rate and room for one token")
        self._rate = per_minute / 60.0
        self._capacity = float(capacity)
        self._clock = clock
        self._tokens = self._capacity
        self._updated = clock.monotonic()

    def available(self) -> float:
        """Tokens in the bucket now (fractional: a part-refilled token counts as a fraction)."""
        self._refill()
        return self._tokens

    def try_take(self) -> bool:
        """Spend one token if there is one; never waits."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    async def take(self) -> None:
        """Spend one token, first waiting as long as it takes to refill one."""
        while not self.try_take():
            await self._clock.sleep((1.0 - self._tokens) / self._rate)

    def _refill(self) -> None:
        now = self._clock.monotonic()
        elapsed = now - self._updated
        if elapsed > 0:
            self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
        self._updated = now
