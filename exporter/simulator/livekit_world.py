"""The simulated LiveKit Cloud project: rooms whose sessions follow one another, lazily.

Each of the ``rooms`` slots runs one session after another (active for a while, then a gap),
each cycle drawn from the seed; the list shows each room's latest session, so its length is
the scale knob. A slot moves to its next cycle only when a request or a test looks at an
instant past the current one, and participants are only drawn for sessions someone looks at
closely, so a world of 10,000 rooms costs little until it is read. Tests may add sessions of
their own (any id, any name); they stay listed until removed.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass

from .ids import derive_rng, log_uniform
from .livekit_model import (
    NS,
    LiveKitCore,
    LiveKitSessionPlan,
    draw_livekit_core,
    generate_livekit_plan,
    livekit_room_name,
    materialize_livekit,
)
from .livekit_truth import LiveKitSessionTruth, observe_livekit
from .sorted_index import SortedIndex

__all__ = ["LiveKitWorld"]

_MINUTE = 60 * NS


@dataclass(slots=True)
class _Slot:
    index: int
    room_name: str
    cycle: int
    core: LiveKitCore
    next_start_ns: int
    plan: LiveKitSessionPlan | None = None


class LiveKitWorld:
    """Rooms and sessions of one LiveKit project, derived from a seed and a clock."""

    def __init__(
        self, *, seed: int, rooms: int, clock: Callable[[], float], active_fraction: float
    ) -> None:
        if rooms < 0:
            raise ValueError("rooms must be >= 0")
        if not 0 < active_fraction <= 1:
            raise ValueError("active_fraction must be in (0, 1]")
        self._seed = seed
        self._clock = clock
        self._fraction = active_fraction
        self._origin_ns = _ns(clock())
        self._inserted: dict[int, LiveKitSessionPlan] = {}
        self._handles = itertools.count(rooms)
        self._slots: list[_Slot] = []
        self._by_id: dict[str, int] = {}
        self._index: SortedIndex[int] = SortedIndex()
        self._heap: list[tuple[int, int]] = []
        self._now_ns = self._origin_ns
        self.materialized = 0
        """How many slot sessions have had their participants drawn (laziness is tested)."""
        self._rooms = [livekit_room_name(seed, i) for i in range(rooms)]
        for i in range(rooms):
            self._slots.append(self._first_cycle(i))
        self._reindex_slots()

    # -- truth, for tests and for the HTTP app -------------------------------------------

    def now_ns(self, at: float | None = None) -> int:
        """The instant to look at: ``at`` (Unix seconds) or the clock's reading."""
        return _ns(self._clock() if at is None else at)

    def sessions(self, at: float | None = None) -> list[LiveKitSessionTruth]:
        """Every listed session (active and ended), newest first, as the list orders them."""
        now = self.now_ns(at)
        return self.page(now, since_ns=None, until_ns=None, offset=0, limit=None)

    def active_sessions(self, at: float | None = None) -> list[LiveKitSessionTruth]:
        """Listed sessions without ``endedAt``."""
        return [s for s in self.sessions(at) if s.active]

    def session(self, session_id: str, at: float | None = None) -> LiveKitSessionTruth | None:
        """One session as its details endpoint shows it, or None if unknown or not started."""
        now = self.now_ns(at)
        self.advance(now)
        handle = self._by_id.get(session_id)
        return None if handle is None else observe_livekit(self._plan(handle), now)

    def plan(self, session_id: str) -> LiveKitSessionPlan | None:
        """The script of a session currently in the world."""
        handle = self._by_id.get(session_id)
        return None if handle is None else self._plan(handle)

    def add_session(
        self,
        plan: LiveKitSessionPlan | None = None,
        *,
        session_id: str | None = None,
        room_name: str | None = None,
        started_at: float | None = None,
        duration: float | None = None,
    ) -> LiveKitSessionPlan:
        """Insert a session: ``plan`` as given, or one drawn from the seed with these fields.

        By default it started a minute ago and stays active (participants connected) until
        removed; ``duration`` (seconds of activity) makes it end on its own.
        """
        handle = next(self._handles)
        if plan is None:
            start = started_at if started_at is not None else self._clock() - 60
            plan = generate_livekit_plan(
                derive_rng(self._seed, "livekit-inserted", handle),
                room_name=room_name if room_name is not None else f"inserted-room-{handle}",
                started_at_ns=_ns(start),
                active_ns=None if duration is None else _ns(duration),
                session_id=session_id,
            )
        if plan.session_id in self._by_id:
            raise ValueError(f"session id {plan.session_id!r} is already in the world")
        self._inserted[handle] = plan
        self._by_id[plan.session_id] = handle
        self._index.put(handle, (-plan.started_at_ns,), handle)
        return plan

    def remove_session(self, session_id: str) -> None:
        """Remove an inserted session (generated rooms cannot be removed)."""
        handle = self._by_id.get(session_id)
        if handle is None or handle not in self._inserted:
            raise KeyError(session_id)
        del self._inserted[handle], self._by_id[session_id]
        self._index.remove(handle)

    # -- paging -----------------------------------------------------------------------------

    def page(
        self,
        now_ns: int,
        *,
        since_ns: int | None,
        until_ns: int | None,
        offset: int,
        limit: int | None,
    ) -> list[LiveKitSessionTruth]:
        """Sessions created in ``[since, until)`` and by ``now``, newest first, one page."""
        self.advance(now_ns)
        newest = now_ns if until_ns is None else min(now_ns, until_ns - 1)
        first = self._index.bisect_key((-newest,))
        last = len(self._index) if since_ns is None else self._index.bisect_key((1 - since_ns,))
        begin = first + offset
        end = last if limit is None else min(last, begin + limit)
        found = (observe_livekit(self._plan(h), now_ns) for h in self._index.values(begin, end))
        return [truth for truth in found if truth is not None]

    def advance(self, now_ns: int) -> None:
        """Move every room whose next session has started by ``now_ns`` to that session."""
        if now_ns < self._now_ns:
            # the clock went back: replay every room from its first cycle
            for slot in self._slots:
                self._by_id.pop(slot.core.session_id, None)
            self._slots = [self._first_cycle(slot.index) for slot in self._slots]
            self._reindex_slots()
        heap = self._heap
        while heap and heap[0][0] <= now_ns:
            _, index = heapq.heappop(heap)
            slot = self._slots[index]
            self._by_id.pop(slot.core.session_id, None)
            while slot.next_start_ns <= now_ns:
                slot.cycle += 1
                slot.core, slot.next_start_ns = self._draw(index, slot.cycle, slot.next_start_ns)
            slot.plan = None
            self._by_id[slot.core.session_id] = index
            self._index.put(index, (-slot.core.started_at_ns,), index)
            heapq.heappush(heap, (slot.next_start_ns, index))
        self._now_ns = now_ns

    # -- internals --------------------------------------------------------------------------

    def _plan(self, handle: int) -> LiveKitSessionPlan:
        inserted = self._inserted.get(handle)
        if inserted is not None:
            return inserted
        slot = self._slots[handle]
        if slot.plan is None:
            rng = derive_rng(self._seed, "livekit", slot.index, slot.cycle, "detail")
            slot.plan = materialize_livekit(slot.core, rng)
            self.materialized += 1
        return slot.plan

    def _timing(self, index: int, cycle: int) -> tuple[int, int, float]:
        """Active time and the pause after it (ns), and where cycle 0 sits at the origin."""
        rng = derive_rng(self._seed, "livekit-timing", index, cycle)
        roll = rng.random()
        if roll < 0.6:
            minutes = log_uniform(rng, 5, 60)
        elif roll < 0.9:
            minutes = log_uniform(rng, 60, 240)
        else:
            minutes = log_uniform(rng, 240, 960)
        active = int(minutes * _MINUTE)
        gap = active * (1 - self._fraction) / self._fraction * rng.uniform(0.3, 1.7)
        return active, max(int(gap), 30 * NS), rng.random()

    def _draw(
        self, index: int, cycle: int, start_ns: int, timing: tuple[int, int, float] | None = None
    ) -> tuple[LiveKitCore, int]:
        active, gap, _ = timing if timing is not None else self._timing(index, cycle)
        core = draw_livekit_core(
            derive_rng(self._seed, "livekit", index, cycle),
            room_name=self._rooms[index],
            started_at_ns=start_ns,
            active_ns=active,
        )
        if core.ended_at_ns is None:
            raise AssertionError("a generated room session always ends")
        return core, core.ended_at_ns + gap

    def _first_cycle(self, index: int) -> _Slot:
        """Cycle 0, placed so that at the origin the room is somewhere in its cycle."""
        timing = self._timing(index, 0)
        active, gap, anchor = timing
        start = self._origin_ns - int(anchor * (active + gap))
        core, following = self._draw(index, 0, start, timing)
        return _Slot(index, core.room_name, 0, core, following)

    def _reindex_slots(self) -> None:
        for slot in self._slots:
            self._by_id[slot.core.session_id] = slot.index
            self._index.put(slot.index, (-slot.core.started_at_ns,), slot.index)
        self._heap = [(slot.next_start_ns, slot.index) for slot in self._slots]
        heapq.heapify(self._heap)
        self._now_ns = self._origin_ns


def _ns(seconds: float) -> int:
    return int(seconds * NS)
