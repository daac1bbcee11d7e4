"""The skeleton both simulated worlds share: seeded slots, inserted sessions, ids, the clock.

A world (:class:`~exporter.simulator.livekit.world.LiveKitWorld`,
:class:`~exporter.simulator.livepeer.world.LivepeerWorld`) is a number of slots that run
one session after another (:mod:`.cycles`), plus the sessions tests insert with ids and
names of their own, until they remove them. Both find any session by id through a handle:
a slot's index, or a number above the slots for an inserted session. Each world decides
what a slot's session is, how it is drawn, and how its sessions are observed and ordered.
"""

from __future__ import annotations

import abc
import itertools
from collections.abc import Callable
from typing import ClassVar, Generic, TypeVar

from .cycles import CycleTiming, Slot, SlotCycles

__all__ = ["SlotWorld"]

S = TypeVar("S")
P = TypeVar("P")


class SlotWorld(abc.ABC, Generic[S, P]):
    """Slots holding an ``S`` per cycle, and handles to full plans ``P``, found by id.

    The world's origin is the clock's reading when it is built.
    """

    noun: ClassVar[str]
    """What a slot is (``rooms``, ``streams``), for error messages."""
    unit: ClassVar[int]
    """Time units per second: instants are integers (ns for LiveKit, ms for Studio)."""
    timing: ClassVar[CycleTiming]
    """How long the slots' sessions last and rest."""

    def __init__(
        self, *, seed: int, slots: int, clock: Callable[[], float], active_fraction: float
    ) -> None:
        if slots < 0:
            raise ValueError(f"{self.noun} must be >= 0")
        self._seed = seed
        self._clock = clock
        self._origin = self._instant(None)
        self._cycles: SlotCycles[S] = SlotCycles(
            seed, slots, self._origin, active_fraction, self.timing, self._draw
        )
        self._inserted: dict[int, P] = {}
        self._handles = itertools.count(slots)
        self._by_id: dict[str, int] = {}

    def _instant(self, at: float | None) -> int:
        """``at`` (Unix seconds) or the clock's reading, as an instant in the world's unit."""
        return int((self._clock() if at is None else at) * self.unit)

    def plan(self, session_id: str) -> P | None:
        """The script of a session currently in the world."""
        handle = self._by_id.get(session_id)
        return None if handle is None else self._plan(handle)

    def remove_session(self, session_id: str) -> None:
        """Remove an inserted session (generated ones cannot be removed)."""
        handle = self._by_id.get(session_id)
        if handle is None or handle not in self._inserted:
            raise KeyError(session_id)
        del self._inserted[handle], self._by_id[session_id]
        self._forget(handle)

    def _insert(self, handle: int, session_id: str, plan: P) -> None:
        """Register an inserted session under ``handle``; ValueError if its id is taken."""
        if session_id in self._by_id:
            raise ValueError(f"session id {session_id!r} is already in the world")
        self._inserted[handle] = plan
        self._by_id[session_id] = handle

    def _plan(self, handle: int) -> P:
        inserted = self._inserted.get(handle)
        return inserted if inserted is not None else self._slot_plan(self._cycles.slots[handle])

    @abc.abstractmethod
    def _draw(self, index: int, cycle: int, start: int, active: int) -> tuple[S, int]:
        """The session of slot ``index`` at ``cycle``, active from ``start``, and its end."""

    @abc.abstractmethod
    def _slot_plan(self, slot: Slot[S]) -> P:
        """The full plan of a slot's current session."""

    @abc.abstractmethod
    def _forget(self, handle: int) -> None:
        """Drop what the world keeps about a removed session besides its plan and id."""
