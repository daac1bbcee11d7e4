"""The simulated LiveKit Cloud project: rooms whose sessions follow one another, lazily.

Each of the ``rooms`` slots runs one session after another (active for a while, then a gap),
each cycle drawn from the seed (:mod:`exporter.simulator.common.cycles`); the list shows each
room's latest session, so its length is the scale knob. A slot moves to its next cycle only
when a request or a test looks at an instant past the current one, and participants are only
drawn for sessions someone looks at closely, so a world of 10,000 rooms costs little until it
is read. Tests may add sessions of their own (any id, any name); they stay listed until removed.
"""

from __future__ import annotations

from collections.abc import Callable

from ..common.cycles import CycleTiming, Slot
from ..common.seeded import derive_rng
from ..common.sorted_index import SortedIndex
from ..common.world import SlotWorld
from .model import (
    NS,
    LiveKitCore,
    LiveKitSessionPlan,
    draw_livekit_core,
    livekit_room_name,
    materialize_livekit,
)
from .truth import LiveKitSessionTruth, observe_livekit

__all__ = ["LiveKitWorld"]


class LiveKitWorld(SlotWorld[LiveKitCore, LiveKitSessionPlan]):
    """Rooms and sessions of one LiveKit project, derived from a seed and a clock."""

    noun = "rooms"
    unit = NS
    timing = CycleTiming(
        key="livekit-timing",
        bands=((0.6, 5, 60), (0.9, 60, 240), (1.0, 240, 960)),
        minute=60 * NS,
        min_gap=30 * NS,
    )

    def __init__(
        self, *, seed: int, rooms: int, clock: Callable[[], float], active_fraction: float
    ) -> None:
        super().__init__(seed=seed, slots=rooms, clock=clock, active_fraction=active_fraction)
        self._details: dict[int, LiveKitSessionPlan] = {}
        self._index: SortedIndex[int] = SortedIndex()
        self._now_ns = self._origin
        self.materialized = 0
        """How many slot sessions have had their participants drawn (laziness is tested)."""
        self._rooms = [livekit_room_name(seed, i) for i in range(rooms)]
        self._restart()

    # -- truth, for tests and for the HTTP app -------------------------------------------

    def now_ns(self, at: float | None = None) -> int:
        """The instant to look at: ``at`` (Unix seconds) or the clock's reading."""
        return self._instant(at)

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
            rng = derive_rng(self._seed, "livekit-inserted", handle)
            core = draw_livekit_core(
                rng,
                room_name=room_name if room_name is not None else f"inserted-room-{handle}",
                started_at_ns=self._instant(start),
                active_ns=None if duration is None else int(duration * NS),
                session_id=session_id,
            )
            plan = materialize_livekit(core, rng)
        self._insert(handle, plan.session_id, plan)
        self._index.put(handle, (-plan.started_at_ns,), handle)
        return plan

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
            self._restart()  # the clock went back: replay every room from its first cycle
        self._cycles.advance(now_ns, self._moved)
        self._now_ns = now_ns

    # -- internals --------------------------------------------------------------------------

    def _slot_plan(self, slot: Slot[LiveKitCore]) -> LiveKitSessionPlan:
        plan = self._details.get(slot.index)
        if plan is None:
            rng = derive_rng(self._seed, "livekit", slot.index, slot.cycle, "detail")
            plan = self._details[slot.index] = materialize_livekit(slot.current, rng)
            self.materialized += 1
        return plan

    def _forget(self, handle: int) -> None:
        self._index.remove(handle)

    def _draw(self, index: int, cycle: int, start_ns: int, active: int) -> tuple[LiveKitCore, int]:
        core = draw_livekit_core(
            derive_rng(self._seed, "livekit", index, cycle),
            room_name=self._rooms[index],
            started_at_ns=start_ns,
            active_ns=active,
        )
        if core.ended_at_ns is None:
            raise AssertionError("a generated room session always ends")
        return core, core.ended_at_ns

    def _moved(self, slot: Slot[LiveKitCore], previous: LiveKitCore) -> None:
        self._by_id.pop(previous.session_id, None)
        self._details.pop(slot.index, None)
        self._list(slot)

    def _list(self, slot: Slot[LiveKitCore]) -> None:
        self._by_id[slot.current.session_id] = slot.index
        self._index.put(slot.index, (-slot.current.started_at_ns,), slot.index)

    def _restart(self) -> None:
        for slot in self._cycles.slots:
            self._by_id.pop(slot.current.session_id, None)
        self._cycles.restart()
        self._details.clear()
        for slot in self._cycles.slots:
            self._list(slot)
        self._now_ns = self._origin
