"""One LiveKit poll's active sessions and known details → the immutable snapshot it exports.

:func:`build_snapshot` is pure. Project aggregates count every active session (publishers:
those whose details are known); per-session series are kept for at most ``max_sessions``
sessions, those with the most active participants (ties by session id), and the rest are
reported as ``omitted`` (README, "LiveKit Cloud").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from exporter.sources.livekit.wire import ListedSession, Publishers, SessionDetails

__all__ = ["LiveKitSnapshot", "SessionView", "build_snapshot"]


@dataclass(frozen=True, slots=True)
class SessionView:
    """One active session with per-session series, and its details if known."""

    session: ListedSession
    details: SessionDetails | None


@dataclass(frozen=True, slots=True)
class LiveKitSnapshot:
    """One successful poll of one LiveKit project."""

    project: str
    sessions: int
    """Active sessions (all of them, including those omitted by the cap)."""
    participants: int
    egress_active: int
    publishers: Publishers
    """Over active sessions whose details are known."""
    shown: tuple[SessionView, ...]
    omitted: int


def build_snapshot(
    project: str,
    active: Sequence[ListedSession],
    details: Mapping[str, SessionDetails],
    max_sessions: int,
) -> LiveKitSnapshot:
    """Aggregate all ``active`` sessions; keep per-session views for the busiest ones."""
    publishers = Publishers()
    for session in active:
        known = details.get(session.session_id)
        if known is not None:
            publishers += known.publishers
    ranked = sorted(active, key=lambda s: (-s.num_active_participants, s.session_id))
    kept = {s.session_id for s in ranked[:max_sessions]}
    shown = tuple(SessionView(s, details.get(s.session_id)) for s in active if s.session_id in kept)
    return LiveKitSnapshot(
        project=project,
        sessions=len(active),
        participants=sum(s.num_active_participants for s in active),
        egress_active=sum(s.egress == 1 for s in active),
        publishers=publishers,
        shown=shown,
        omitted=len(active) - len(shown),
    )
