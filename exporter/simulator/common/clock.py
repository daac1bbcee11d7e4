"""A settable wall clock for tests and benchmarks that drive the simulated world.

The simulator reads time only through a ``Callable[[], float]`` of Unix seconds. Production
and ``--demo`` pass :func:`time.time`; a test passes a :class:`FakeClock` and moves it, so
sessions start, stream and end on command instead of on the wall clock, and whatever the API
serves can be compared exactly with the world's truth at the same instant.
"""

from __future__ import annotations

__all__ = ["FakeClock"]


class FakeClock:
    """A clock that only moves when told to; calling it returns the current Unix seconds.

    The default start, 2026-01-15T12:00:00Z, is a fixed instant so seeded worlds built on a
    fresh ``FakeClock()`` are identical from one run to the next.
    """

    __slots__ = ("_now",)

    DEFAULT_START = 1_768_478_400.0

    def __init__(self, start: float = DEFAULT_START) -> None:
        self._now = float(start)

    def __call__(self) -> float:
        return self._now

    def __repr__(self) -> str:
        return f"FakeClock({self._now!r})"

    @property
    def now(self) -> float:
        """The current reading, in Unix seconds."""
        return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (never backward) and return the new reading."""
        if seconds < 0:
            raise ValueError("advance() only moves forward; use set() to go back in time")
        self._now += seconds
        return self._now

    def set(self, when: float) -> None:
        """Jump to ``when``; going back is allowed (the world then rebuilds its state)."""
        self._now = float(when)
