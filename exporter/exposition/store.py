"""The current data of every target, swapped whole after each successful poll.

Holds what a scrape needs and nothing it must wait for: the last good snapshot of each target
already rendered, when it succeeded (for the stale-after policy), and the status the landing
page and ``/readyz`` show. Replacing a target's entry is one assignment, so a scrape sees the
old snapshot or the new one, never a mix.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from exporter.errors import Reason
from exporter.exposition.render import Chunk

__all__ = ["Published", "Store", "TargetStatus"]


@dataclass(frozen=True, slots=True)
class Published:
    """A target's last good snapshot, rendered, and when (monotonic) its poll ended.

    Only the rendering is kept, not the snapshot: the parsed sessions would otherwise stay in
    memory beside their rendering (tens of MB with thousands of sessions) for nothing.
    """

    chunk: Chunk
    at: float
    sessions: int
    """Sessions in the snapshot, for the landing page."""


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """What the landing page says about a target."""

    source: str
    target: str
    attempted: bool = False
    up: bool = False
    last_success: float | None = None
    """Wall time of the end of the last successful poll."""
    last_error: Reason | None = None
    sessions: int | None = None


@dataclass(slots=True)
class _Entry:
    status: TargetStatus
    published: Published | None = field(default=None)


class Store:
    """Per-target published data and status; data older than ``stale_after`` is withheld."""

    def __init__(self, stale_after: float) -> None:
        self._stale_after = stale_after
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._ready = False

    def register(self, source: str, target: str) -> None:
        self._entries[(source, target)] = _Entry(TargetStatus(source, target))

    def unregister(self, source: str, target: str) -> None:
        """Forget a removed target: its data leaves the next scrape."""
        del self._entries[(source, target)]

    def publish(self, source: str, target: str, published: Published, *, wall: float) -> None:
        """Swap in a successful poll's data."""
        entry = self._entries[(source, target)]
        entry.published = published
        entry.status = replace(
            entry.status,
            attempted=True,
            up=True,
            last_success=wall,
            last_error=None,
            sessions=published.sessions,
        )

    def fail(self, source: str, target: str, reason: Reason) -> None:
        """Record a failed poll; the last good data stays until it goes stale."""
        entry = self._entries[(source, target)]
        entry.status = replace(entry.status, attempted=True, up=False, last_error=reason)

    def fresh(self, now: float) -> tuple[Published, ...]:
        """Published data of every target whose last success is within ``stale_after``."""
        return tuple(
            entry.published
            for entry in self._entries.values()
            if entry.published is not None and now - entry.published.at <= self._stale_after
        )

    def statuses(self) -> tuple[TargetStatus, ...]:
        return tuple(entry.status for entry in self._entries.values())

    @property
    def ready(self) -> bool:
        """True once every target has finished its first poll attempt, and from then on:
        targets a reload adds later do not take a serving replica out of its Service."""
        if not self._ready:
            self._ready = all(entry.status.attempted for entry in self._entries.values())
        return self._ready
