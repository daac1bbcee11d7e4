"""Slot cycles: seeded timing, every slot somewhere in its cycle at the origin, lazy advance."""

from __future__ import annotations

import pytest

from exporter.simulator.common.cycles import CycleTiming, Slot, SlotCycles

TIMING = CycleTiming(key="test-timing", bands=((0.5, 1, 10), (1.0, 10, 100)), minute=60, min_gap=5)
ORIGIN = 1_000_000


def draw(index: int, cycle: int, start: int, active: int) -> tuple[tuple[int, int], int]:
    """A session that is just its start and its cycle, ending ``active`` later."""
    return (start, cycle), start + active


def make(count: int = 50, fraction: float = 0.5) -> SlotCycles[tuple[int, int]]:
    cycles = SlotCycles(1, count, ORIGIN, fraction, TIMING, draw)
    cycles.restart()
    return cycles


def test_timing_is_seeded_and_within_its_bands() -> None:
    """The same slot and cycle always time alike; durations stay in the bands, gaps >= min."""
    draws = [TIMING.draw(3, 0.8, index, cycle) for index in range(40) for cycle in range(5)]
    assert draws == [TIMING.draw(3, 0.8, index, cycle) for index in range(40) for cycle in range(5)]
    for active, gap, anchor in draws:
        assert 60 <= active <= 100 * 60
        assert gap >= TIMING.min_gap
        assert 0 <= anchor < 1
    assert {active < 10 * 60 for active, _, _ in draws} == {True, False}


def test_at_the_origin_every_slot_is_in_its_first_cycle() -> None:
    """Each slot started at or before the origin and its next cycle starts after it."""
    cycles = make()
    assert [slot.index for slot in cycles.slots] == list(range(50))
    for slot in cycles.slots:
        start, cycle = slot.current
        assert (slot.cycle, cycle) == (0, 0)
        assert start <= ORIGIN < slot.next_start


def test_advance_moves_only_the_slots_whose_next_cycle_started() -> None:
    """Slots move to their latest cycle by ``now``, each reported once; the rest stay."""
    cycles = make()
    now = min(slot.next_start for slot in cycles.slots)
    moved: list[tuple[int, tuple[int, int]]] = []

    def record(slot: Slot[tuple[int, int]], previous: tuple[int, int]) -> None:
        moved.append((slot.index, previous))

    cycles.advance(now, record)
    assert len(moved) >= 1
    assert all(previous[1] == 0 for _, previous in moved)
    for slot in cycles.slots:
        assert slot.current[0] <= now < slot.next_start
        assert (slot.index in dict(moved)) == (slot.cycle > 0)
    moved.clear()
    cycles.advance(now + 10 * 86_400, record)
    assert len(moved) == 50
    assert all(slot.cycle == slot.current[1] > 1 for slot in cycles.slots)
    cycles.restart()
    assert {slot.cycle for slot in cycles.slots} == {0}


def test_advance_is_the_same_in_one_step_or_many() -> None:
    """Where a slot is at an instant does not depend on the instants looked at before."""
    stepped, direct = make(), make()
    for now in range(ORIGIN, ORIGIN + 86_400, 997):
        stepped.advance(now, lambda slot, previous: None)
    direct.advance(ORIGIN + 86_400 - 1, lambda slot, previous: None)
    stepped.advance(ORIGIN + 86_400 - 1, lambda slot, previous: None)
    assert stepped.slots == direct.slots


def test_the_active_fraction_must_be_a_fraction() -> None:
    with pytest.raises(ValueError, match="active_fraction"):
        SlotCycles(1, 3, ORIGIN, 0.0, TIMING, draw)
