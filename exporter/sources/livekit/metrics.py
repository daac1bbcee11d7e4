"""The LiveKit snapshot and the metric families it renders (metrics.md, "LiveKit Cloud").

:func:`build_snapshot` is pure: the active sessions of one poll and the details known so far
become an immutable :class:`LiveKitSnapshot`. Project aggregates count every active session;
per-session series are kept for at most ``max_sessions`` sessions, those with the most active
participants (ties by session id), and the rest are reported as ``omitted``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporter.sources.livekit.wire import (
    NS,
    TRACK_SOURCES,
    ListedSession,
    Publishers,
    SessionDetails,
)

__all__ = ["EGRESS_STATES", "LiveKitSnapshot", "SessionView", "build_snapshot"]

EGRESS_STATES: Final = ("never_started", "active", "ended")
"""``status`` label values of the egress state set, indexed by the upstream ``egress`` value."""
_FROM: Final = " From LiveKit Cloud's Analytics API; the value of the last successful poll."
_SESSION: Final = ("project", "room", "session_id")


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

    def families(self) -> Iterator[Metric]:
        yield from _project_families(self)
        yield from _session_families(self.project, self.shown)


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
    kept = {s.session_id for s in ranked[: max(max_sessions, 0)]}
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


def _project_families(snap: LiveKitSnapshot) -> Iterator[Metric]:
    """Project aggregates, always present::

    livekit_cloud_sessions_active{project="p_abc"} 2.0
    livekit_cloud_participants_active{project="p_abc"} 5.0
    livekit_cloud_egress_active{project="p_abc"} 1.0
    livekit_cloud_publishers{project="p_abc",track_source="camera"} 3.0
    """
    for name, help_text, value in (
        ("sessions_active", "Active sessions (listed without endedAt).", snap.sessions),
        (
            "participants_active",
            "Active participants, summed over active sessions.",
            snap.participants,
        ),
        ("egress_active", "Active sessions with an active egress.", snap.egress_active),
    ):
        family = GaugeMetricFamily(f"livekit_cloud_{name}", help_text + _FROM, labels=["project"])
        family.add_metric([snap.project], value)
        yield family
    publishers = GaugeMetricFamily(
        "livekit_cloud_publishers",
        "Connected participants publishing each track source, over active sessions whose "
        "details are known." + _FROM,
        labels=["project", "track_source"],
    )
    for source, count in zip(TRACK_SOURCES, snap.publishers.counts(), strict=True):
        publishers.add_metric([snap.project, source], count)
    yield publishers


def _session_families(project: str, shown: Sequence[SessionView]) -> Iterator[Metric]:
    """Per-session series, labelled ``{project, room, session_id}``::

    livekit_cloud_session_participants_active{project="p_abc",room="standup",session_id="RM_x"} 2.0
    livekit_cloud_session_bandwidth_bytes_total{...,direction="incoming"} 1.260393e+06
    livekit_cloud_session_egress_status{...,status="active"} 1.0
    livekit_cloud_session_publishers{...,track_source="microphone"} 2.0
    livekit_cloud_session_connection_seconds_total{...} 7200.0
    """
    if not shown:
        return
    active = _gauge("participants_active", "Active participants in the session.")
    joined = _gauge("participants", "Participants that joined the session so far.")
    bandwidth = CounterMetricFamily(
        "livekit_cloud_session_bandwidth_bytes",
        "Bytes the session's participants uploaded (incoming) and downloaded (outgoing)." + _FROM,
        labels=[*_SESSION, "direction"],
    )
    start = _gauge("start_timestamp_seconds", "Unix time the session started (createdAt).")
    last = _gauge("last_active_timestamp_seconds", "Unix time the session was last active.")
    egress = GaugeMetricFamily(
        "livekit_cloud_session_egress_status",
        "Egress state of the session: 1 for the current status, 0 for the others." + _FROM,
        labels=[*_SESSION, "status"],
    )
    publishers = GaugeMetricFamily(
        "livekit_cloud_session_publishers",
        "Connected participants publishing each track source, from session details." + _FROM,
        labels=[*_SESSION, "track_source"],
    )
    billable = CounterMetricFamily(
        "livekit_cloud_session_billable_bandwidth_bytes",
        "Billable bytes of bandwidth of the session, from session details." + _FROM,
        labels=list(_SESSION),
    )
    connection = CounterMetricFamily(
        "livekit_cloud_session_connection_seconds",
        "Billable connection time of the session (connectionMinutes x 60), from session "
        "details." + _FROM,
        labels=list(_SESSION),
    )
    for view in shown:
        s = view.session
        labels = [project, s.room_name, s.session_id]
        active.add_metric(labels, s.num_active_participants)
        joined.add_metric(labels, s.num_participants)
        bandwidth.add_metric([*labels, "incoming"], s.bandwidth_in)
        bandwidth.add_metric([*labels, "outgoing"], s.bandwidth_out)
        start.add_metric(labels, s.created_at_ns / NS)
        if s.last_active_ns is not None:
            last.add_metric(labels, s.last_active_ns / NS)
        for code, state in enumerate(EGRESS_STATES):
            egress.add_metric([*labels, state], int(s.egress == code))
        if view.details is None:
            continue
        for source, count in zip(TRACK_SOURCES, view.details.publishers.counts(), strict=True):
            publishers.add_metric([*labels, source], count)
        if view.details.billable_bandwidth is not None:
            billable.add_metric(labels, view.details.billable_bandwidth)
        if view.details.connection_minutes is not None:
            connection.add_metric(labels, view.details.connection_minutes * 60)
    for family in (
        active,
        joined,
        bandwidth,
        start,
        last,
        egress,
        publishers,
        billable,
        connection,
    ):
        if family.samples:
            yield family


def _gauge(name: str, help_text: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(
        f"livekit_cloud_session_{name}", help_text + _FROM, labels=list(_SESSION)
    )
