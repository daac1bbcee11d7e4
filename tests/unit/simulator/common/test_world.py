"""The world skeleton: sessions found by id, inserted ones added and removed, slots counted."""

from __future__ import annotations

import pytest

from exporter.simulator.common.cycles import CycleTiming, Slot
from exporter.simulator.common.world import SlotWorld


class Toy(SlotWorld[str, str]):
    """Slots whose sessions are named after their slot and cycle; plans are those names."""

    noun = "toys"
    unit = 1
    timing = CycleTiming(key="toy", bands=((1.0, 1, 2),), minute=60, min_gap=60)

    def __init__(self, slots: int) -> None:
        super().__init__(seed=0, slots=slots, clock=lambda: 1000.0, active_fraction=0.5)
        self.forgotten: list[int] = []
        self._cycles.restart()
        for slot in self._cycles.slots:
            self._by_id[slot.current] = slot.index

    def add(self, session_id: str) -> None:
        self._insert(next(self._handles), session_id, f"plan of {session_id}")

    def _draw(self, index: int, cycle: int, start: int, active: int) -> tuple[str, int]:
        return f"toy-{index}-{cycle}", start + active

    def _slot_plan(self, slot: Slot[str]) -> str:
        return f"plan of {slot.current}"

    def _forget(self, handle: int) -> None:
        self.forgotten.append(handle)


def test_slot_and_inserted_sessions_are_found_by_id() -> None:
    """Slot sessions and inserted ones share one id space; handles follow the slots."""
    world = Toy(3)
    assert world.plan("toy-1-0") == "plan of toy-1-0"
    world.add("mine")
    assert world.plan("mine") == "plan of mine"
    assert world.plan("nobody") is None
    with pytest.raises(ValueError, match="already in the world"):
        world.add("toy-2-0")
    world.remove_session("mine")
    assert world.forgotten == [3]
    assert world.plan("mine") is None


def test_only_inserted_sessions_can_be_removed() -> None:
    world = Toy(2)
    for session_id in ("toy-0-0", "nobody"):
        with pytest.raises(KeyError):
            world.remove_session(session_id)


def test_the_slot_count_is_checked_with_the_worlds_noun() -> None:
    with pytest.raises(ValueError, match="toys must be >= 0"):
        Toy(-1)
