"""One Livepeer poll's sessions → the immutable snapshot its metrics are rendered from.

Which sessions count (README, "Livepeer Studio"): **active** when ``now - lastSeen ≤
active-window``; **tracked** for recording status when ``record`` is true and ``lastSeen``
(never 0) lies within the recording lookback. Project aggregates are computed over every such
session, so they stay exact whatever the cap leaves out.

The ``max-sessions`` cap bounds the sessions that get per-session series. Active sessions come
first, those with the highest ingest rate kept (they carry the most traffic, and are what an
operator looks at when something is wrong); tracked recorded sessions that are no longer active
fill whatever room the cap leaves, most recently seen first. ``omitted`` counts the active sessions
left out (what ``sessions_omitted`` exports); ``recordings_omitted`` the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from exporter.sources.livepeer.wire import RECORDING_STATUSES, LivepeerSession

__all__ = ["LivepeerSnapshot", "ProjectTotals", "Windows", "build_snapshot"]

_STATUS_INDEX = {status: index for index, status in enumerate(RECORDING_STATUSES)}


@dataclass(frozen=True, slots=True)
class Windows:
    """The settings that decide which sessions count, and how many get their own series."""

    active_window: float
    """Seconds of ``lastSeen`` age under which a session is active."""
    recording_lookback: float
    """Seconds of ``lastSeen`` age under which a recorded session is tracked."""
    max_sessions: int


@dataclass(frozen=True, slots=True)
class ProjectTotals:
    """The exact project-level aggregates of one ``projectId``."""

    project: str
    healthy: int = 0
    unhealthy: int = 0
    unknown: int = 0
    ingest_rate: float = 0.0
    outgoing_rate: float = 0.0
    recordings: tuple[int, ...] = (0,) * len(RECORDING_STATUSES)
    """Tracked recorded sessions per status, in ``RECORDING_STATUSES`` order."""


@dataclass(frozen=True, slots=True)
class LivepeerSnapshot:
    """What one successful poll of one Livepeer key produced."""

    totals: tuple[ProjectTotals, ...]
    active: tuple[LivepeerSession, ...]
    """Active sessions kept by the max-sessions cap, in label order."""
    recorded: tuple[LivepeerSession, ...]
    """Tracked recorded sessions kept by the cap (active or not), in label order."""
    active_count: int
    """Every active session seen, cap or not."""
    omitted: int
    """Active sessions left out by the cap."""
    recordings_omitted: int = 0
    """Tracked recorded sessions, no longer active, left out by the cap."""

    @property
    def sessions(self) -> int:
        return self.active_count


class _Sums:
    """Running aggregates of one project while the sessions are walked once."""

    __slots__ = ("health", "ingest", "outgoing", "recordings")

    def __init__(self) -> None:
        self.health = [0, 0, 0]  # healthy, unhealthy, unknown
        self.ingest = 0.0
        self.outgoing = 0.0
        self.recordings = [0] * len(RECORDING_STATUSES)

    def totals(self, project: str) -> ProjectTotals:
        healthy, unhealthy, unknown = self.health
        return ProjectTotals(
            project=project,
            healthy=healthy,
            unhealthy=unhealthy,
            unknown=unknown,
            ingest_rate=self.ingest,
            outgoing_rate=self.outgoing,
            recordings=tuple(self.recordings),
        )


def build_snapshot(
    sessions: Sequence[LivepeerSession],
    *,
    now: float,
    windows: Windows,
    projects: Iterable[str] = (),
) -> LivepeerSnapshot:
    """Classify, aggregate and cap ``sessions`` (unique ids) as of wall time ``now``.

    ``projects`` always get aggregates (0 when idle), as does every project of ``sessions``;
    when no project is known at all, the aggregates carry ``project=""``.
    """
    now_ms = now * 1000.0
    active_ms = windows.active_window * 1000.0
    lookback_ms = windows.recording_lookback * 1000.0
    sums = {project: _Sums() for project in projects}
    active: list[LivepeerSession] = []
    tracked: list[LivepeerSession] = []
    for s in sessions:
        project = sums.get(s.project)
        if project is None:
            project = sums[s.project] = _Sums()
        age_ms = now_ms - s.last_seen_ms
        if s.last_seen_ms > 0 and age_ms <= active_ms:
            active.append(s)
            project.health[0 if s.healthy is True else 1 if s.healthy is False else 2] += 1
            project.ingest += s.ingest_rate
            project.outgoing += s.outgoing_rate
        if s.record and s.last_seen_ms > 0 and age_ms <= lookback_ms:
            tracked.append(s)
            project.recordings[_STATUS_INDEX[s.recording_state]] += 1
    if not sums:
        sums[""] = _Sums()

    cap = windows.max_sessions
    kept_active = sorted(active, key=lambda s: (-s.ingest_rate, -s.last_seen_ms, s.id))[:cap]
    active_ids = {s.id for s in active}
    kept_ids = {s.id for s in kept_active}
    recorded_only = sorted(
        (s for s in tracked if s.id not in active_ids), key=lambda s: (-s.last_seen_ms, s.id)
    )
    kept_recorded_only = recorded_only[: cap - len(kept_active)]
    kept_recorded = [s for s in tracked if s.id in kept_ids] + kept_recorded_only
    return LivepeerSnapshot(
        totals=tuple(sums[project].totals(project) for project in sorted(sums)),
        active=tuple(sorted(kept_active, key=_label_order)),
        recorded=tuple(sorted(kept_recorded, key=_label_order)),
        active_count=len(active),
        omitted=len(active) - len(kept_active),
        recordings_omitted=len(recorded_only) - len(kept_recorded_only),
    )


def _label_order(session: LivepeerSession) -> tuple[str, str, str]:
    return (session.project, session.stream_id, session.id)
