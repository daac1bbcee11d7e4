"""The LiveKit metric families, as tables of (name, type, help, labels, value of a row).

Project aggregates take one row, the snapshot, and are always present::

    livekit_cloud_sessions_active{project="p_abc"} 2.0
    livekit_cloud_publishers{project="p_abc",track_source="camera"} 3.0

Per-session families take one row per session kept by the cap, labelled ``{project, room,
session_id}``; a family without a sample (no details known yet) is left out::

    livekit_cloud_session_bandwidth_bytes_total{...,direction="incoming"} 1.260393e+06
    livekit_cloud_session_egress_status{...,status="active"} 1.0

Names, types and labels are those of the README's "LiveKit Cloud" table.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Final

from prometheus_client.metrics_core import Metric

from exporter.sources.base import Family, render_families
from exporter.sources.livekit.snapshot import LiveKitSnapshot, SessionView
from exporter.sources.livekit.timestamps import NS
from exporter.sources.livekit.wire import TRACK_SOURCES

__all__ = ["PROJECT_FAMILIES", "SESSION_FAMILIES", "families"]

_FROM: Final = " From LiveKit Cloud's Analytics API; the value of the last successful poll."
_PROJECT: Final = ("project",)
_SESSION: Final = ("project", "room", "session_id")
_EGRESS_STATES: Final = ("never_started", "active", "ended")
"""``status`` label values of the egress state set, indexed by the upstream ``egress`` value."""
_ONE_HOT: Final = ((1, 0, 0), (0, 1, 0), (0, 0, 1))

PROJECT_FAMILIES: Final[tuple[Family[LiveKitSnapshot], ...]] = (
    Family(
        "livekit_cloud_sessions_active",
        "gauge",
        "Active sessions (listed without endedAt)." + _FROM,
        _PROJECT,
        attrgetter("sessions"),
    ),
    Family(
        "livekit_cloud_participants_active",
        "gauge",
        "Active participants, summed over active sessions." + _FROM,
        _PROJECT,
        attrgetter("participants"),
    ),
    Family(
        "livekit_cloud_egress_active",
        "gauge",
        "Active sessions with an active egress." + _FROM,
        _PROJECT,
        attrgetter("egress_active"),
    ),
    Family(
        "livekit_cloud_publishers",
        "gauge",
        "Connected participants publishing each track source, over active sessions whose "
        "details are known." + _FROM,
        (*_PROJECT, "track_source"),
        lambda snap: snap.publishers.counts(),
        TRACK_SOURCES,
    ),
)

SESSION_FAMILIES: Final[tuple[Family[SessionView], ...]] = (
    Family(
        "livekit_cloud_session_participants_active",
        "gauge",
        "Active participants in the session." + _FROM,
        _SESSION,
        attrgetter("session.num_active_participants"),
    ),
    Family(
        "livekit_cloud_session_participants",
        "gauge",
        "Participants that joined the session so far." + _FROM,
        _SESSION,
        attrgetter("session.num_participants"),
    ),
    Family(
        "livekit_cloud_session_bandwidth_bytes_total",
        "counter",
        "Bytes the session's participants uploaded (incoming) and downloaded (outgoing)." + _FROM,
        (*_SESSION, "direction"),
        lambda view: (view.session.bandwidth_in, view.session.bandwidth_out),
        ("incoming", "outgoing"),
    ),
    Family(
        "livekit_cloud_session_start_timestamp_seconds",
        "gauge",
        "Unix time the session started (createdAt)." + _FROM,
        _SESSION,
        lambda view: view.session.created_at_ns / NS,
    ),
    Family(
        "livekit_cloud_session_last_active_timestamp_seconds",
        "gauge",
        "Unix time the session was last active." + _FROM,
        _SESSION,
        lambda view: (
            None if view.session.last_active_ns is None else view.session.last_active_ns / NS
        ),
    ),
    Family(
        "livekit_cloud_session_egress_status",
        "gauge",
        "Egress state of the session: 1 for the current status, 0 for the others." + _FROM,
        (*_SESSION, "status"),
        lambda view: _ONE_HOT[view.session.egress],
        _EGRESS_STATES,
    ),
    Family(
        "livekit_cloud_session_publishers",
        "gauge",
        "Connected participants publishing each track source, from session details." + _FROM,
        (*_SESSION, "track_source"),
        lambda view: None if view.details is None else view.details.publishers.counts(),
        TRACK_SOURCES,
    ),
    Family(
        "livekit_cloud_session_billable_bandwidth_bytes_total",
        "counter",
        "Billable bytes of bandwidth of the session, from session details." + _FROM,
        _SESSION,
        lambda view: None if view.details is None else view.details.billable_bandwidth,
    ),
    Family(
        "livekit_cloud_session_connection_seconds_total",
        "counter",
        "Billable connection time of the session (connectionMinutes x 60), from session "
        "details." + _FROM,
        _SESSION,
        lambda view: (
            None
            if view.details is None or view.details.connection_minutes is None
            else view.details.connection_minutes * 60
        ),
    ),
)


def families(snap: LiveKitSnapshot, target: str) -> list[Metric]:
    """The project aggregates, then the per-session families of the sessions shown."""

    def session_labels(view: SessionView) -> tuple[str, str, str]:
        return (snap.project, view.session.room_name, view.session.session_id)

    return [
        *render_families(PROJECT_FAMILIES, (snap,), lambda s: (s.project,), target=target),
        *render_families(SESSION_FAMILIES, snap.shown, session_labels, target=target),
    ]
