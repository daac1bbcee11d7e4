"""The simulated Livepeer Studio project: streams whose sessions follow one another.

Each of the ``streams`` slots is a parent stream running one session after another, drawn
from the seed; the list holds each stream's latest session, so its length is the scale knob.
Studio sorts by ``lastSeen``, which moves as sessions stream, so the world caches each
session's observation together with the instant it stops being valid, re-observes only the
sessions whose instant has passed, and keeps them in an incrementally sorted index.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
from collections.abc import Callable, Iterator

from .ids import derive_rng, log_uniform, uuid_from
from .livepeer_model import (
    LivepeerSessionPlan,
    StreamPlan,
    generate_livepeer_plan,
    generate_stream,
)
from .livepeer_truth import LivepeerSessionTruth, next_change_ms, observe_livepeer
from .sorted_index import SortedIndex

__all__ = ["LivepeerWorld"]

_MINUTE_MS = 60_000


class LivepeerWorld:
    """Streams and sessions of one Studio project, derived from a seed and a clock."""

    def __init__(
        self, *, seed: int, streams: int, clock: Callable[[], float], active_fraction: float
    ) -> None:
        if streams < 0:
            raise ValueError("streams must be >= 0")
        if not 0 < active_fraction <= 1:
            raise ValueError("active_fraction must be in (0, 1]")
        self._seed = seed
        self._clock = clock
        self._fraction = active_fraction
        self._origin_ms = _ms(clock())
        self.project_id = uuid_from(derive_rng(seed, "livepeer-project"))
        self.user_id = uuid_from(derive_rng(seed, "livepeer-user"), upper=True)
        self._streams = [
            generate_stream(
                seed, i, created_at_ms=self._origin_ms, project_id=self.project_id,
                user_id=self.user_id,
            )
            for i in range(streams)
        ]  # fmt: skip
        self._handles = itertools.count(streams)
        self._inserted: dict[int, LivepeerSessionPlan] = {}
        self._slots: list[tuple[LivepeerSessionPlan, int]] = []
        self._cycles: list[int] = []
        self._by_id: dict[str, int] = {}
        self._observed: dict[int, LivepeerSessionTruth] = {}
        self._generation: dict[int, int] = {}
        self._index: SortedIndex[LivepeerSessionTruth] = SortedIndex()
        self._due: list[tuple[int, int, int]] = []
        self._slot_heap: list[tuple[int, int]] = []
        self._now_ms = self._origin_ms
        self._reset(self._origin_ms)

    # -- truth, for tests and for the HTTP app -------------------------------------------

    def now_ms(self, at: float | None = None) -> int:
        """The instant to look at: ``at`` (Unix seconds) or the clock's reading, in ms."""
        return _ms(self._clock() if at is None else at)

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

    def plan(self, session_id: str) -> LivepeerSessionPlan | None:
        """The script of a session currently in the world."""
        handle = self._by_id.get(session_id)
        return None if handle is None else self._plan(handle)

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
                started_at_ms=_ms(start),
                duration_ms=None if duration is None else int(duration * 1000),
                session_id=session_id,
            )
            if name is not None:
                plan = dataclasses.replace(plan, name=name)
        if plan.id in self._by_id:
            raise ValueError(f"session id {plan.id!r} is already in the world")
        self._inserted[handle] = plan
        self._by_id[plan.id] = handle
        self._observe(handle, self._now_ms)
        return plan

    def remove_session(self, session_id: str) -> None:
        """Remove an inserted session (generated streams cannot be removed)."""
        handle = self._by_id.get(session_id)
        if handle is None or handle not in self._inserted:
            raise KeyError(session_id)
        del self._inserted[handle], self._by_id[session_id]
        self._forget(handle)

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
        while self._slot_heap and self._slot_heap[0][0] <= now_ms:
            _, index = heapq.heappop(self._slot_heap)
            plan, following = self._slots[index]
            self._by_id.pop(plan.id, None)
            cycle = self._cycles[index]
            while following <= now_ms:
                cycle += 1
                plan, following = self._draw(index, cycle, following)
            self._cycles[index] = cycle
            self._slots[index] = (plan, following)
            self._by_id[plan.id] = index
            self._observe(index, now_ms)
            heapq.heappush(self._slot_heap, (following, index))
        heap = self._due
        while heap and heap[0][0] <= now_ms:
            _, handle, generation = heapq.heappop(heap)
            if self._generation.get(handle) == generation:
                self._observe(handle, now_ms)
        self._now_ms = now_ms

    # -- internals --------------------------------------------------------------------------

    def _plan(self, handle: int) -> LivepeerSessionPlan:
        inserted = self._inserted.get(handle)
        return inserted if inserted is not None else self._slots[handle][0]

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

    def _timing(self, index: int, cycle: int) -> tuple[int, int, float]:
        """Streaming time and the pause after it (ms), and where cycle 0 sits at the origin."""
        rng = derive_rng(self._seed, "livepeer-timing", index, cycle)
        roll = rng.random()
        if roll < 0.1:
            minutes = log_uniform(rng, 1, 10)
        elif roll < 0.8:
            minutes = log_uniform(rng, 10, 120)
        else:
            minutes = log_uniform(rng, 120, 480)
        duration = int(minutes * _MINUTE_MS)
        gap = duration * (1 - self._fraction) / self._fraction * rng.uniform(0.3, 1.7)
        return duration, max(int(gap), _MINUTE_MS), rng.random()

    def _draw(
        self, index: int, cycle: int, start_ms: int, timing: tuple[int, int, float] | None = None
    ) -> tuple[LivepeerSessionPlan, int]:
        duration, gap, _ = timing if timing is not None else self._timing(index, cycle)
        plan = generate_livepeer_plan(
            derive_rng(self._seed, "livepeer", index, cycle),
            stream=self._streams[index],
            started_at_ms=start_ms,
            duration_ms=duration,
        )
        return plan, start_ms + duration + gap

    def _first_cycle(self, index: int) -> tuple[LivepeerSessionPlan, int]:
        """Cycle 0, placed so that at the origin the stream is somewhere in its cycle."""
        timing = self._timing(index, 0)
        duration, gap, anchor = timing
        return self._draw(index, 0, self._origin_ms - int(anchor * (duration + gap)), timing)

    def _reset(self, now_ms: int) -> None:
        self._slots = [self._first_cycle(i) for i in range(len(self._streams))]
        self._cycles = [0] * len(self._streams)
        self._by_id = {plan.id: i for i, (plan, _) in enumerate(self._slots)}
        self._by_id.update({plan.id: h for h, plan in self._inserted.items()})
        self._observed = {}
        self._generation = {}
        self._index = SortedIndex()
        self._due = []
        self._slot_heap = [(following, i) for i, (_, following) in enumerate(self._slots)]
        heapq.heapify(self._slot_heap)
        self._now_ms = now_ms
        for handle in [*range(len(self._slots)), *self._inserted]:
            self._observe(handle, now_ms)

    @property
    def streams(self) -> tuple[StreamPlan, ...]:
        """The generated parent streams, one per slot."""
        return tuple(self._streams)


def _ms(seconds: float) -> int:
    return int(seconds * 1000)
