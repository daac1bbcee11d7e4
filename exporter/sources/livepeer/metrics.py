"""The Livepeer snapshot and its metric families (metrics.md, "Livepeer Studio").

Rendering is pure: it reads the snapshot and nothing else, and runs once per successful poll.
Project aggregates are always present for every known project (0 when idle); per-session
families are left out when they have no sample. Times are converted from Studio's milliseconds
to Unix seconds here, at the edge of the output.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from exporter.sources.livepeer.wire import RECORDING_STATUSES, LivepeerSession

__all__ = ["LivepeerSnapshot", "ProjectTotals", "families"]

_FROM: Final = "From Livepeer Studio's sessions API; value of the last successful poll."
_PROJECT: Final = ("project",)
_SESSION: Final = ("project", "stream_id", "stream_name", "session_id")
_HEALTH: Final = ("healthy", "unhealthy", "unknown")


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

    def families(self) -> Iterable[Metric]:
        return families(self)


def families(snapshot: LivepeerSnapshot) -> list[Metric]:
    """Every data family of a snapshot: project aggregates first, then per-session ones."""
    return [
        *project_families(snapshot.totals),
        *(f for f in session_families(snapshot.active) if f.samples),
        *(f for f in recording_families(snapshot.recorded) if f.samples),
        *(f for f in info_families(snapshot.active, snapshot.recorded) if f.samples),
    ]


def _gauge(name: str, text: str, labels: Sequence[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, f"{text} {_FROM}", labels=labels)


def project_families(totals: Sequence[ProjectTotals]) -> Iterator[Metric]:
    """Aggregates per project, every label value present::

    livepeer_studio_sessions_active{health="healthy",project="aac1…"} 3.0
    livepeer_studio_ingest_rate_bytes_per_second{project="aac1…"} 1.3406e+06
    livepeer_studio_recordings{project="aac1…",status="ready"} 4.0
    """
    active = _gauge(
        "livepeer_studio_sessions_active",
        "Active sessions (lastSeen within the active window) by isHealthy: healthy (true), "
        "unhealthy (false), unknown (null or absent).",
        (*_PROJECT, "health"),
    )
    ingest = _gauge(
        "livepeer_studio_ingest_rate_bytes_per_second",
        "Sum of ingestRate over active sessions, in bytes per second.",
        _PROJECT,
    )
    outgoing = _gauge(
        "livepeer_studio_outgoing_rate_bytes_per_second",
        "Sum of outgoingRate over active sessions, in bytes per second.",
        _PROJECT,
    )
    recordings = _gauge(
        "livepeer_studio_recordings",
        "Recorded sessions seen within the recording lookback, by recordingStatus.",
        (*_PROJECT, "status"),
    )
    for t in totals:
        for health, count in zip(_HEALTH, (t.healthy, t.unhealthy, t.unknown), strict=True):
            active.add_metric((t.project, health), count)
        ingest.add_metric((t.project,), t.ingest_rate)
        outgoing.add_metric((t.project,), t.outgoing_rate)
        for status, count in zip(RECORDING_STATUSES, t.recordings, strict=True):
            recordings.add_metric((t.project, status), count)
    yield from (active, ingest, outgoing, recordings)


def _labels(s: LivepeerSession) -> tuple[str, str, str, str]:
    return (s.project, s.stream_id, s.stream_name, s.id)


_COUNTERS: Final = (
    ("source_bytes", "sourceBytes: bytes ingested by the session so far."),
    ("transcoded_bytes", "transcodedBytes: bytes of transcoded renditions so far."),
    ("source_segments", "sourceSegments: source segments received so far."),
    ("transcoded_segments", "transcodedSegments: transcoded segments produced so far."),
    ("source_duration_seconds", "sourceSegmentsDuration: seconds of source segments so far."),
    (
        "transcoded_duration_seconds",
        "transcodedSegmentsDuration: seconds of transcoded segments so far.",
    ),
)


def session_families(active: Sequence[LivepeerSession]) -> Iterator[Metric]:
    """Per active session; ``session_healthy`` only when ``isHealthy`` is known::

    livepeer_studio_session_healthy{project="aac1…",session_id="4b9e…",…} 0.0
    livepeer_studio_session_source_bytes_total{…} 2.1450112e+07
    livepeer_studio_session_last_seen_timestamp_seconds{…} 1.760000050123e+09
    """
    healthy = _gauge(
        "livepeer_studio_session_healthy",
        "1 if the session is healthy (isHealthy true), 0 if not; absent when unknown.",
        _SESSION,
    )
    issues = _gauge(
        "livepeer_studio_session_issues", "Number of entries in the session's issues.", _SESSION
    )
    ingest = _gauge(
        "livepeer_studio_session_ingest_rate_bytes_per_second",
        "ingestRate: rate at which sourceBytes grows, in bytes per second.",
        _SESSION,
    )
    outgoing = _gauge(
        "livepeer_studio_session_outgoing_rate_bytes_per_second",
        "outgoingRate: rate at which transcodedBytes grows, in bytes per second.",
        _SESSION,
    )
    counters = [
        CounterMetricFamily(
            f"livepeer_studio_session_{name}_total", f"{text} {_FROM}", labels=_SESSION
        )
        for name, text in _COUNTERS
    ]
    started = _gauge(
        "livepeer_studio_session_start_timestamp_seconds",
        "createdAt: Unix time the session was created.",
        _SESSION,
    )
    seen = _gauge(
        "livepeer_studio_session_last_seen_timestamp_seconds",
        "lastSeen: Unix time Studio last had news of the session.",
        _SESSION,
    )
    for s in active:
        labels = _labels(s)
        if s.healthy is not None:
            healthy.add_metric(labels, 1.0 if s.healthy else 0.0)
        issues.add_metric(labels, s.issues)
        ingest.add_metric(labels, s.ingest_rate)
        outgoing.add_metric(labels, s.outgoing_rate)
        values = (
            s.source_bytes,
            s.transcoded_bytes,
            s.source_segments,
            s.transcoded_segments,
            s.source_duration,
            s.transcoded_duration,
        )
        for counter, value in zip(counters, values, strict=True):
            counter.add_metric(labels, value)
        if s.created_at_ms is not None:
            started.add_metric(labels, s.created_at_ms / 1000.0)
        seen.add_metric(labels, s.last_seen_ms / 1000.0)
    yield from (healthy, issues, ingest, outgoing, *counters, started, seen)


def recording_families(recorded: Sequence[LivepeerSession]) -> Iterator[Metric]:
    """The recording state set of each tracked recorded session, all five states present::

    livepeer_studio_session_recording_status{…,session_id="9f0a…",status="waiting",…} 0.0
    livepeer_studio_session_recording_status{…,session_id="9f0a…",status="ready",…} 1.0
    """
    status = _gauge(
        "livepeer_studio_session_recording_status",
        "Recording state of a recorded session seen within the recording lookback: 1 for its "
        "recordingStatus (waiting when it has none), 0 for the other states.",
        (*_SESSION, "status"),
    )
    for s in recorded:
        labels, current = _labels(s), s.recording_state
        for state in RECORDING_STATUSES:
            status.add_metric((*labels, state), 1.0 if state == current else 0.0)
    yield status


def info_families(
    active: Sequence[LivepeerSession], recorded: Sequence[LivepeerSession]
) -> Iterator[Metric]:
    """One ``session_info`` = 1 per active or tracked session, for joins on playback id::

    livepeer_studio_session_info{playback_id="eaw4nk06ts2d0mzb",project="…",record="true",…} 1.0
    """
    info = _gauge(
        "livepeer_studio_session_info",
        "1 for each active or tracked session, labelled with its playbackId and record flag.",
        (*_SESSION, "playback_id", "record"),
    )
    seen = {s.id for s in active}
    merged = [*active, *(s for s in recorded if s.id not in seen)]
    for s in sorted(merged, key=lambda s: (s.project, s.stream_id, s.id)):
        info.add_metric((*_labels(s), s.playback_id, "true" if s.record else "false"), 1.0)
    yield info
