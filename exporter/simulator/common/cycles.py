"""Slots that run one session after another, advanced lazily: the engine of both worlds.

A simulated project is a fixed number of slots (LiveKit rooms, Studio streams), each running
one session after another: active for a while, then a gap, every cycle drawn from the seed
and the slot's position alone. At the world's origin each slot is somewhere in its first
cycle. A slot moves to its next cycle only when someone looks at an instant past the start
of that cycle, found with a heap of next starts, so a world of 10,000 slots costs little
until it is read. Times are integers in the world's own unit (ns for LiveKit, ms for Studio).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .seeded import derive_rng, log_uniform

__all__ = ["CycleTiming", "Slot", "SlotCycles"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CycleTiming:
    """How long a slot's sessions last, and the gap after each, in the world's unit.

    ``bands`` are ``(below, low, high)``: a uniform roll picks the first band it is below,
    whose log-uniform ``low``-``high`` minutes give the active time (the last band's
    ``below`` must be 1). The gap makes about ``active_fraction`` of the slots active at
    once, and is never shorter than ``min_gap``. ``key`` names the random streams.
    """

    key: str
    bands: tuple[tuple[float, float, float], ...]
    minute: int
    min_gap: int

    def draw(self, seed: int, fraction: float, index: int, cycle: int) -> tuple[int, int, float]:
        """Active time, the gap after it, and where cycle 0 sits at the origin (0 to 1)."""
        rng = derive_rng(seed, self.key, index, cycle)
        roll = rng.random()
        low, high = next((low, high) for below, low, high in self.bands if roll < below)
        active = int(log_uniform(rng, low, high) * self.minute)
        gap = active * (1 - fraction) / fraction * rng.uniform(0.3, 1.7)
        return active, max(int(gap), self.min_gap), rng.random()


@dataclass(slots=True)
class Slot(Generic[T]):
    """One slot at its current cycle: the session drawn for it and when the next starts."""

    index: int
    cycle: int
    current: T
    next_start: int


Draw = Callable[[int, int, int, int], tuple[T, int]]
"""``draw(index, cycle, start, active)``: the session of a cycle, and when it ends."""


@dataclass(slots=True)
class SlotCycles(Generic[T]):
    """``count`` slots over a seeded timing; the world decides what a session is (``draw``).

    ``slots`` holds every slot at its current cycle, by index; it is empty until
    :meth:`restart`. ``origin`` is the instant at which each slot is in its first cycle.
    """

    seed: int
    count: int
    origin: int
    active_fraction: float
    timing: CycleTiming
    draw: Draw[T]
    slots: list[Slot[T]] = field(default_factory=list, init=False, repr=False)
    _heap: list[tuple[int, int]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.active_fraction <= 1:
            raise ValueError("active_fraction must be in (0, 1]")

    def restart(self) -> None:
        """Put every slot back at its first cycle, as at the origin."""
        self.slots = [self._first_cycle(index) for index in range(self.count)]
        self._heap = [(slot.next_start, slot.index) for slot in self.slots]
        heapq.heapify(self._heap)

    def advance(self, now: int, moved: Callable[[Slot[T], T], None]) -> None:
        """Move every slot whose next cycle has started by ``now`` to the latest one.

        ``moved(slot, previous)`` is called for each slot once it is at its new cycle.
        """
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, index = heapq.heappop(heap)
            slot = self.slots[index]
            previous = slot.current
            while slot.next_start <= now:
                slot.cycle += 1
                slot.current, slot.next_start = self._cycle(index, slot.cycle, slot.next_start)
            moved(slot, previous)
            heapq.heappush(heap, (slot.next_start, index))

    def _cycle(
        self, index: int, cycle: int, start: int, timing: tuple[int, int, float] | None = None
    ) -> tuple[T, int]:
        if timing is None:
            timing = self.timing.draw(self.seed, self.active_fraction, index, cycle)
        active, gap, _ = timing
        session, end = self.draw(index, cycle, start, active)
        return session, end + gap

    def _first_cycle(self, index: int) -> Slot[T]:
        """Cycle 0, placed so that at the origin the slot is somewhere in its cycle."""
        timing = self.timing.draw(self.seed, self.active_fraction, index, 0)
        active, gap, anchor = timing
        start = self.origin - int(anchor * (active + gap))
        session, next_start = self._cycle(index, 0, start, timing)
        return Slot(index, 0, session, next_start)
