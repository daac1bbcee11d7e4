"""The simulated Livepeer Studio project: streams whose sessions follow one another.

Each of the ``streams`` slots is a parent stream running one session after another, drawn
from the seed (:mod:`exporter.simulator.common.cycles`); the list holds each stream's latest
session, so its length is the scale knob. Studio sorts by ``lastSeen``, which moves as
sessions stream, so the world caches each session's observation together with the instant
it stops being valid, re-observes only the sessions whose instant has passed, and keeps
them in an incrementally sorted index.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Callable, Iterator

from ..common.cycles import CycleTiming, Slot
from ..common.seeded import derive_rng, uuid_from
from ..common.sorted_index import SortedIndex
from ..common.world import SlotWorld
from .model import LivepeerSessionPlan, StreamPlan, generate_livepeer_plan, generate_stream
from .truth import LivepeerSessionTruth, next_change_ms, observe_livepeer

__all__ = ["LivepeerWorld"]


class LivepeerWorld(SlotWorld[LivepeerSessionPlan, LivepeerSessionPlan]):
    """Streams and sessions of one Studio project, derived from a seed and a clock."""

    noun = "streams"
    unit = 1000
    timing = CycleTiming(
        key="livepeer-timing",
        bands=((0.1, 1, 10), (0.8, 10, 120), (1.0, 120, 480)),
        minute=60_000,
        min_gap=60_000,
    )

    def __init__(
        self, *, seed: int, streams: int, clock: Callable[[], float], active_fraction: float
    ) -> None:
        super().__init__(seed=seed, slots=streams, clock=clock, active_fraction=active_fraction)
        self.project_id = uuid_from(derive_rng(seed, "livepeer-project"))
        self.user_id = uuid_from(derive_rng(seed, "livepeer-user"), upper=True)
        self._streams = [
            generate_stream(
                seed, i, created_at_ms=self._origin, project_id=self.project_id,
                user_id=self.user_id,
            )
            for i in range(streams)
        ]  # fmt: skip
        self._observed: dict[int, LivepeerSessionTruth] = {}
        self._generation: dict[int, int] = {}
        self._index: SortedIndex[LivepeerSessionTruth] = SortedIndex()
        self._due: list[tuple[int, int, int]] = []
        self._now_ms = self._origin
        self._reset(self._origin)

    # -- truth, for tests and for the HTTP app -------------------------------------------

    def now_ms(self, at: float | None = None) -> int:
        """The instant to look at: ``at`` (Unix seconds) or the clock's reading, in ms."""
        return self._instant(at)

    def sessions(self, at: float | None = None) -> list[LivepeerSessionTruth]:
        """Every listed session in Studio's default order (``lastSeen``, ``createdAt`` desc)."""
        return list(self.ordered(self.now_ms(at)))

    def active_sessions(
        self, at: float | None = None, *, window_s: float = 90.0
    ) -> list[LivepeerSessionTruth]:
        """Sessions the exporter counts as active: ``lastSeen`` within ``window_s``."""
        now = self.now_ms(at)
        return [s for s in self.ordered(now) if s.is_active(now / 1000, window_s)]

    def session(self, session_id: str, at: float | None = None) -> LivepeerSessionTruth | None:
        """One session, or None if unknown or not yet created."""
        self.refresh(self.now_ms(at))
        handle = self._by_id.get(session_id)
        return None if handle is None else self._observed.get(handle)

    def add_session(
        self,
        plan: LivepeerSessionPlan | None = None,
        *,
        session_id: str | None = None,
        name: str | None = None,
        stream_name: str | None = None,
        stream_id: str | None = None,
        record: bool | None = None,
        started_at: float | None = None,
        duration: float | None = None,
    ) -> LivepeerSessionPlan:
        """Insert a session: ``plan`` as given, or one drawn from the seed with these fields.

        By default it started a minute ago and streams until removed; ``duration`` (seconds)
        makes it end on its own. ``stream_name`` is the parent stream's name, which the
        exporter exports as ``stream_name``.
        """
        handle = next(self._handles)
        if plan is None:
            stream = generate_stream(
                self._seed, f"inserted-{handle}", created_at_ms=self.now_ms(),
                project_id=self.project_id, user_id=self.user_id,
            )  # fmt: skip
            stream = dataclasses.replace(
                stream,
                name=stream.name if stream_name is None else stream_name,
                id=stream.id if stream_id is None else stream_id,
                record=stream.record if record is None else record,
            )
            start = started_at if started_at is not None else self._clock() - 60
            plan = generate_livepeer_plan(
                derive_rng(self._seed, "livepeer-inserted", handle),
                stream=stream,
                started_at_ms=self._instant(start),
                duration_ms=None if duration is None else int(duration * 1000),
                session_id=session_id,
            )
            if name is not None:
                plan = dataclasses.replace(plan, name=name)
        self._insert(handle, plan.id, plan)
        self._observe(handle, self._now_ms)
        return plan

    # -- listing ----------------------------------------------------------------------------

    def ordered(
        self, now_ms: int, start: int = 0, stop: int | None = None
    ) -> Iterator[LivepeerSessionTruth]:
        """Sessions created by ``now_ms`` in the default order, positions ``start:stop``."""
        self.refresh(now_ms)
        return self._index.values(start, stop)

    def observed(self, now_ms: int) -> list[LivepeerSessionTruth]:
        """Sessions created by ``now_ms`` in insertion order, for other orders and filters."""
        self.refresh(now_ms)
        return [self._observed[h] for h in sorted(self._observed)]

    def refresh(self, now_ms: int) -> None:
        """Bring every cached observation up to ``now_ms``, touching only what changed."""
        if now_ms < self._now_ms:
            self._reset(now_ms)  # the clock went back: replay from the first cycles

        def moved(slot: Slot[LivepeerSessionPlan], previous: LivepeerSessionPlan) -> None:
            self._by_id.pop(previous.id, None)
            self._by_id[slot.current.id] = slot.index
            self._observe(slot.index, now_ms)

        self._cycles.advance(now_ms, moved)
        heap = self._due
        while heap and heap[0][0] <= now_ms:
            _, handle, generation = heapq.heappop(heap)
            if self._generation.get(handle) == generation:
                self._observe(handle, now_ms)
        self._now_ms = now_ms

    # -- internals --------------------------------------------------------------------------

    def _slot_plan(self, slot: Slot[LivepeerSessionPlan]) -> LivepeerSessionPlan:
        return slot.current

    def _observe(self, handle: int, now_ms: int) -> None:
        plan = self._plan(handle)
        generation = self._generation.get(handle, 0) + 1
        self._generation[handle] = generation
        truth = observe_livepeer(plan, now_ms)
        if truth is None:
            self._observed.pop(handle, None)
            self._index.remove(handle)
            heapq.heappush(self._due, (plan.started_at_ms, handle, generation))
            return
        self._observed[handle] = truth
        self._index.put(handle, (-truth.last_seen, -truth.created_at), truth)
        heapq.heappush(self._due, (next_change_ms(plan, truth, now_ms), handle, generation))

    def _forget(self, handle: int) -> None:
        self._observed.pop(handle, None)
        self._generation.pop(handle, None)
        self._index.remove(handle)

    def _draw(
        self, index: int, cycle: int, start_ms: int, duration: int
    ) -> tuple[LivepeerSessionPlan, int]:
        plan = generate_livepeer_plan(
            derive_rng(self._seed, "livepeer", index, cycle),
            stream=self._streams[index],
            started_at_ms=start_ms,
            duration_ms=duration,
        )
        return plan, start_ms + duration

    def _reset(self, now_ms: int) -> None:
        self._cycles.restart()
        slots = self._cycles.slots
        self._by_id = {slot.current.id: slot.index for slot in slots}
        self._by_id.update({plan.id: h for h, plan in self._inserted.items()})
        self._observed = {}
        self._generation = {}
        self._index = SortedIndex()
        self._due = []
        self._now_ms = now_ms
        for handle in [*range(len(slots)), *self._inserted]:
            self._observe(handle, now_ms)

    @property
    def streams(self) -> tuple[StreamPlan, ...]:
        """The generated parent streams, one per slot."""
        return tuple(self._streams)
