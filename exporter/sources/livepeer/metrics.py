"""The Livepeer metric families, as tables of (name, type, help, labels, value of a row).

Project aggregates take one row per known project and are always present (0 when idle)::

    livepeer_studio_sessions_active{health="healthy",project="aac1…"} 3.0
    livepeer_studio_recordings{project="aac1…",status="ready"} 4.0

Per-session families take the active sessions kept by the cap, the recording state set the
tracked ones, and ``session_info`` both; families without a sample are left out. Times go from
Studio's milliseconds to Unix seconds here, at the edge of the output. Names, types and labels
are those of the README's "Livepeer Studio" table.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Final

from prometheus_client.metrics_core import Metric

from exporter.sources.base import Family, render_families
from exporter.sources.livepeer.snapshot import LivepeerSnapshot, ProjectTotals
from exporter.sources.livepeer.wire import RECORDING_STATUSES, LivepeerSession

__all__ = [
    "INFO_FAMILIES",
    "PROJECT_FAMILIES",
    "RECORDING_FAMILIES",
    "SESSION_FAMILIES",
    "families",
]

_FROM: Final = " From Livepeer Studio's sessions API; value of the last successful poll."
_PROJECT: Final = ("project",)
_SESSION: Final = ("project", "stream_id", "stream_name", "session_id")
_ONE_HOT: Final = {
    status: tuple(1.0 if other == status else 0.0 for other in RECORDING_STATUSES)
    for status in RECORDING_STATUSES
}
"""The recording state set's values for each current status."""


def _counter(name: str, field: str, text: str) -> Family[LivepeerSession]:
    """A per-session counter relaying one of Studio's running totals."""
    name = f"livepeer_studio_session_{name}_total"
    return Family(name, "counter", text + _FROM, _SESSION, attrgetter(field))


PROJECT_FAMILIES: Final[tuple[Family[ProjectTotals], ...]] = (
    Family(
        "livepeer_studio_sessions_active",
        "gauge",
        "Active sessions (lastSeen within the active window) by isHealthy: healthy (true), "
        "unhealthy (false), unknown (null or absent)." + _FROM,
        (*_PROJECT, "health"),
        lambda t: (t.healthy, t.unhealthy, t.unknown),
        ("healthy", "unhealthy", "unknown"),
    ),
    Family(
        "livepeer_studio_ingest_rate_bytes_per_second",
        "gauge",
        "Sum of ingestRate over active sessions, in bytes per second." + _FROM,
        _PROJECT,
        attrgetter("ingest_rate"),
    ),
    Family(
        "livepeer_studio_outgoing_rate_bytes_per_second",
        "gauge",
        "Sum of outgoingRate over active sessions, in bytes per second." + _FROM,
        _PROJECT,
        attrgetter("outgoing_rate"),
    ),
    Family(
        "livepeer_studio_recordings",
        "gauge",
        "Recorded sessions seen within the recording lookback, by recordingStatus." + _FROM,
        (*_PROJECT, "status"),
        attrgetter("recordings"),
        RECORDING_STATUSES,
    ),
)

SESSION_FAMILIES: Final[tuple[Family[LivepeerSession], ...]] = (
    Family(
        "livepeer_studio_session_healthy",
        "gauge",
        "1 if the session is healthy (isHealthy true), 0 if not; absent when unknown." + _FROM,
        _SESSION,
        lambda s: None if s.healthy is None else 1.0 if s.healthy else 0.0,
    ),
    Family(
        "livepeer_studio_session_issues",
        "gauge",
        "Number of entries in the session's issues." + _FROM,
        _SESSION,
        attrgetter("issues"),
    ),
    Family(
        "livepeer_studio_session_ingest_rate_bytes_per_second",
        "gauge",
        "ingestRate: rate at which sourceBytes grows, in bytes per second." + _FROM,
        _SESSION,
        attrgetter("ingest_rate"),
    ),
    Family(
        "livepeer_studio_session_outgoing_rate_bytes_per_second",
        "gauge",
        "outgoingRate: rate at which transcodedBytes grows, in bytes per second." + _FROM,
        _SESSION,
        attrgetter("outgoing_rate"),
    ),
    _counter("source_bytes", "source_bytes", "sourceBytes: bytes ingested by the session so far."),
    _counter(
        "transcoded_bytes",
        "transcoded_bytes",
        "transcodedBytes: bytes of transcoded renditions so far.",
    ),
    _counter(
        "source_segments", "source_segments", "sourceSegments: source segments received so far."
    ),
    _counter(
        "transcoded_segments",
        "transcoded_segments",
        "transcodedSegments: transcoded segments produced so far.",
    ),
    _counter(
        "source_duration_seconds",
        "source_duration",
        "sourceSegmentsDuration: seconds of source segments so far.",
    ),
    _counter(
        "transcoded_duration_seconds",
        "transcoded_duration",
        "transcodedSegmentsDuration: seconds of transcoded segments so far.",
    ),
    Family(
        "livepeer_studio_session_start_timestamp_seconds",
        "gauge",
        "createdAt: Unix time the session was created." + _FROM,
        _SESSION,
        lambda s: None if s.created_at_ms is None else s.created_at_ms / 1000.0,
    ),
    Family(
        "livepeer_studio_session_last_seen_timestamp_seconds",
        "gauge",
        "lastSeen: Unix time Studio last had news of the session." + _FROM,
        _SESSION,
        lambda s: s.last_seen_ms / 1000.0,
    ),
)

RECORDING_FAMILIES: Final[tuple[Family[LivepeerSession], ...]] = (
    Family(
        "livepeer_studio_session_recording_status",
        "gauge",
        "Recording state of a recorded session seen within the recording lookback: 1 for its "
        "recordingStatus (waiting when it has none), 0 for the other states." + _FROM,
        (*_SESSION, "status"),
        lambda s: _ONE_HOT[s.recording_state],
        RECORDING_STATUSES,
    ),
)

INFO_FAMILIES: Final[tuple[Family[LivepeerSession], ...]] = (
    Family(
        "livepeer_studio_session_info",
        "gauge",
        "1 for each active or tracked session, labelled with its playbackId and record flag."
        + _FROM,
        (*_SESSION, "playback_id", "record"),
        lambda s: 1.0,
    ),
)


def families(snap: LivepeerSnapshot, target: str) -> list[Metric]:
    """Project aggregates first, then the per-session families, recording states and info."""
    seen = {s.id for s in snap.active}
    merged = [*snap.active, *(s for s in snap.recorded if s.id not in seen)]
    merged.sort(key=lambda s: (s.project, s.stream_id, s.id))
    return [
        *render_families(PROJECT_FAMILIES, snap.totals, lambda t: (t.project,), target=target),
        *render_families(SESSION_FAMILIES, snap.active, _labels, target=target),
        *render_families(RECORDING_FAMILIES, snap.recorded, _labels, target=target),
        *render_families(INFO_FAMILIES, merged, _info_labels, target=target),
    ]


def _labels(s: LivepeerSession) -> tuple[str, str, str, str]:
    return (s.project, s.stream_id, s.stream_name, s.id)


def _info_labels(s: LivepeerSession) -> tuple[str, ...]:
    record = "true" if s.record else "false"
    return (s.project, s.stream_id, s.stream_name, s.id, s.playback_id, record)
