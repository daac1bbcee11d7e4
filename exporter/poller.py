"""One poll loop per target: schedule, deadline, backoff, Retry-After, publish.

Loops start and stop while the poller runs (a reload adds, restarts and removes targets); a
stopped loop's in-flight poll is cancelled and awaited, so two loops of one target never
overlap. Each loop polls its source, renders the snapshot off the event loop and publishes it to the
store in one swap. Polls of a target never overlap (the loop is sequential). After failures the
next poll waits ``interval * 2^(n-1)`` (capped, plus up to 25 % jitter so replicas drift
apart), never less than the normal interval, and never less than a ``Retry-After`` the
upstream sent. Time comes from an injected :class:`~exporter.clock.Clock`, the deadline too,
so tests drive the loops with a fake clock instead of sleeping.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import anyio
import anyio.abc
from structlog.typing import FilteringBoundLogger

from exporter.clock import Clock
from exporter.errors import Reason, SourceError
from exporter.exposition.render import Chunk, render_chunk
from exporter.exposition.self_metrics import TargetTelemetry
from exporter.exposition.store import Published, Store
from exporter.sources.base import Snapshot, Source

__all__ = ["MAX_BACKOFF", "Backoff", "Poller", "Target"]

MAX_BACKOFF: Final = 300.0
"""Longest wait between failing polls (unless the interval itself is longer)."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before the next poll after ``failures`` consecutive failures."""

    interval: float
    cap: float = MAX_BACKOFF
    jitter: float = 0.25

    def delay(self, failures: int, rand: float) -> float:
        """``rand`` in [0, 1) spreads the delay over [base, base * (1 + jitter))."""
        if failures <= 0:
            return self.interval
        cap = max(self.cap, self.interval)
        base = min(self.interval * 2.0 ** min(failures - 1, 30), cap)
        return base * (1 + self.jitter * rand)


@dataclass(frozen=True, slots=True)
class Target:
    """A source with the telemetry and deadline its loop uses."""

    source: Source[Any]
    telemetry: TargetTelemetry
    deadline: float
    """Longest a whole poll may take before it is abandoned as a timeout."""

    @property
    def key(self) -> tuple[str, str]:
        """(source, target): what the store and the self-metrics know it by."""
        return (self.source.kind, self.source.target)


class _DeadlineExceeded(Exception):
    """The poll outlived its deadline and was cancelled."""


@dataclass(slots=True)
class _Loop:
    target: Target
    scope: anyio.CancelScope
    done: anyio.Event
    stopping: bool = False


class Poller:
    """Runs one loop per target in one task group; loops start and stop while it runs.

    Also polls a set of targets once, for ``--once``.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        log: FilteringBoundLogger,
        *,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._store = store
        self._clock = clock
        self._log = log
        self._rand = rand
        # one render at a time: targets polled together would otherwise hold their rendering
        # buffers at once, and the threads share one core's worth of GIL anyway
        self._rendering = anyio.CapacityLimiter(1)
        self._loops: dict[tuple[str, str], _Loop] = {}
        self._group: anyio.abc.TaskGroup | None = None
        self._dead = False

    @property
    def targets(self) -> tuple[Target, ...]:
        """The targets whose loops run, in the order they were started."""
        return tuple(loop.target for loop in self._loops.values())

    @property
    def running(self) -> frozenset[tuple[str, str]]:
        """The keys of the targets whose loops run."""
        return frozenset(self._loops)

    @property
    def alive(self) -> bool:
        """False once a loop ended without being stopped (it never should)."""
        return not self._dead

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Host the loops until cancelled; ready for :meth:`start` once started."""
        async with anyio.create_task_group() as tg:
            self._group = tg
            task_status.started()
            await anyio.sleep_forever()

    def start(self, target: Target, delay: float = 0.0) -> None:
        """Start polling ``target``, first after ``delay`` seconds."""
        assert self._group is not None, "Poller.run() must be started first"  # noqa: S101
        assert target.key not in self._loops, f"{target.key} is already polled"  # noqa: S101
        loop = _Loop(target, anyio.CancelScope(), anyio.Event())
        self._loops[target.key] = loop
        self._group.start_soon(self._loop, loop, delay)

    async def stop(self, key: tuple[str, str]) -> Target:
        """Stop a target's loop and wait until it has ended (an in-flight poll is cancelled)."""
        loop = self._loops.pop(key)
        loop.stopping = True
        loop.scope.cancel()
        await loop.done.wait()
        return loop.target

    async def poll_all_once(self, targets: Sequence[Target]) -> bool:
        """Poll each target once, concurrently; True if every poll succeeded."""
        results: list[bool] = []

        async def one(target: Target) -> None:
            results.append(await self.poll_once(target) is None)

        async with anyio.create_task_group() as tg:
            for target in targets:
                tg.start_soon(one, target)
        return all(results)

    async def _loop(self, loop: _Loop, delay: float) -> None:
        target = loop.target
        backoff = Backoff(target.source.interval)
        failures = 0
        try:
            with loop.scope:
                await self._clock.sleep(delay)
                while True:
                    started = self._clock.monotonic()
                    error = await self.poll_once(target)
                    failures = 0 if error is None else failures + 1
                    due = started + backoff.delay(failures, self._rand())
                    if error is not None and error.retry_after is not None:
                        due = max(due, self._clock.monotonic() + error.retry_after)
                    await self._clock.sleep(due - self._clock.monotonic())
        finally:
            self._dead = self._dead or not loop.stopping
            loop.done.set()

    async def poll_once(self, target: Target) -> SourceError | None:
        """One poll of one target, recorded in telemetry, store and log; returns its error."""
        source, telemetry = target.source, target.telemetry
        log = self._log.bind(source=source.kind, target=source.target)
        telemetry.poll_started()
        started = self._clock.monotonic()
        error: SourceError | None = None
        reason: Reason
        try:
            snapshot = await self._bounded(source, target.deadline)
            chunk = await anyio.to_thread.run_sync(
                _render, source, snapshot, limiter=self._rendering
            )
        except SourceError as exc:
            error, reason = _detached(exc), exc.reason
        except _DeadlineExceeded:
            error = SourceError(f"poll exceeded its {target.deadline:g}s deadline")
            error.reason = reason = "timeout"
        except Exception as exc:  # a bug must cost one poll, never the process
            error, reason = SourceError(f"{type(exc).__name__}: {exc}"), "internal"
            log.error("poll_crashed", exc_info=True)
        duration = self._clock.monotonic() - started
        if error is None:
            wall = self._clock.time()
            published = Published(chunk, self._clock.monotonic(), snapshot.sessions)
            self._store.publish(source.kind, source.target, published, wall=wall)
            telemetry.poll_succeeded(duration=duration, finished=wall, omitted=snapshot.omitted)
            log.info(
                "poll_succeeded",
                duration_s=round(duration, 3),
                sessions=snapshot.sessions,
                omitted=snapshot.omitted,
            )
            return None
        self._store.fail(source.kind, source.target, reason)
        telemetry.poll_failed(duration=duration, reason=reason)
        retry = error.retry_after
        log.warning(
            "poll_failed",
            duration_s=round(duration, 3),
            reason=reason,
            error=str(error),
            **({} if retry is None else {"retry_after_s": math.ceil(retry)}),
        )
        return error

    async def _bounded(self, source: Source[Any], deadline: float) -> Snapshot:
        """``source.poll()`` cancelled after ``deadline`` seconds of the injected clock."""
        outcome: list[Snapshot | Exception] = []
        async with anyio.create_task_group() as tg:

            async def run() -> None:
                try:
                    outcome.append(await source.poll())
                except Exception as exc:  # re-raised below, outside the task group's wrapping
                    outcome.append(exc)
                tg.cancel_scope.cancel()

            tg.start_soon(run)
            await self._clock.sleep(deadline)
            tg.cancel_scope.cancel()
        if not outcome:
            raise _DeadlineExceeded
        result = outcome.pop()  # neither the list nor a local may keep an exception (_detached)
        if isinstance(result, Exception):
            try:
                raise result
            finally:
                del result
        return result


def _render(source: Source[Any], snapshot: Snapshot) -> Chunk:
    """The snapshot's families encoded once; CPU-bound, so run in a worker thread."""
    return render_chunk(source.families(snapshot))


def _detached(error: SourceError) -> SourceError:
    """``error`` without its traceback and chained exceptions, which are never reported.

    They reference every frame of the failed poll, the poller's own included (which holds
    the error), so they form a reference cycle that keeps the poll's locals, a response body
    of up to 32 MiB among them, alive until the next full garbage collection: an upstream
    sending oversized or broken bodies would otherwise grow the process by a body per poll.
    """
    error.__traceback__ = None
    error.__context__ = None
    error.__cause__ = None
    return error
