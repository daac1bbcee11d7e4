"""What Studio's ``GET /session`` reports about a session at one instant: the ground truth.

The model follows Studio's own mechanics, as its server code works them: byte counts,
segments and rates land in the database in flushes every 50 s, each bumping ``lastSeen``,
and are zeroed 30 s after the stream stops; health hooks set ``isHealthy`` and ``issues`` at
once and bump ``lastSeen`` while live; the stream ending sets both to null;
``recordingStatus`` is computed at read time. :func:`next_change_ms` says until when an
observation stays valid, which lets the world cache observations and re-sort incrementally.
"""

from __future__ import annotations

import bisect
import enum
import math
from dataclasses import dataclass
from typing import Final, Literal

from .model import LivepeerSessionPlan, Profile, StreamPlan

__all__ = [
    "ABSENT",
    "Absent",
    "Health",
    "Issues",
    "LivepeerSessionTruth",
    "next_change_ms",
    "observe_livepeer",
]

_FLUSH_MS: Final = 50_000
_RATE_WINDOW_MS: Final = 2_000  # stream-info polls the broadcaster every 2 s
_ZERO_AFTER_MS: Final = 30_000
_STALE_MS: Final = 3 * 3_600_000
_NEVER: Final = 2**62


class Absent(enum.Enum):
    """Marks a field missing from the JSON, as opposed to present with ``null``."""

    ABSENT = "absent"


ABSENT: Final = Absent.ABSENT

Health = bool | Literal[Absent.ABSENT] | None
"""``isHealthy``: true, false, null (None) or missing (ABSENT)."""
Issues = tuple[str, ...] | Literal[Absent.ABSENT] | None
"""``issues``: sentences (possibly none), null (None) or missing (ABSENT)."""


@dataclass(frozen=True, slots=True)
class LivepeerSessionTruth:
    """A session as one item of ``GET /session`` describes it, field for field.

    ``is_healthy`` and ``issues`` distinguish ``null`` (None) from a missing key (ABSENT);
    ``recording_status`` is None when the key is missing (``record`` false). ``streaming``
    is not an API field: it says whether the parent stream is live (``parentStream.isActive``).
    """

    id: str
    name: str
    user_id: str
    project_id: str | None
    parent_id: str
    created_at: int
    last_seen: int
    source_segments: int
    transcoded_segments: int
    source_segments_duration: float
    transcoded_segments_duration: float
    source_bytes: int
    transcoded_bytes: int
    ingest_rate: float
    outgoing_rate: float
    is_healthy: Health
    issues: Issues
    record: bool
    recording_status: str | None
    recording_url: str | None
    mp4_url: str | None
    playback_id: str
    profiles: tuple[Profile, ...]
    recording_profiles: tuple[Profile, ...] | None
    stream: StreamPlan
    streaming: bool

    @property
    def stream_name(self) -> str:
        """The parent stream's name (the ``stream_name`` metric label)."""
        return self.stream.name

    def is_active(self, now_s: float, window_s: float = 90.0) -> bool:
        """The exporter's rule: ``lastSeen`` no older than ``window_s`` (never-seen: no)."""
        return self.last_seen > 0 and now_s * 1000 - self.last_seen <= window_s * 1000


def _bytes(plan: LivepeerSessionPlan, at_ms: int) -> int:
    """Cumulative source bytes: a steady rate with a slow wobble that never runs backwards."""
    end = plan.ended_at_ms if plan.ended_at_ms is not None else at_ms
    elapsed = max(0, min(at_ms, end) - plan.started_at_ms) / 1000
    rate = plan.source_bytes_per_second
    omega = 2 * math.pi / plan.wobble_period_s
    amplitude = 0.3 * rate / omega
    return int(rate * elapsed + amplitude * (1 - math.cos(omega * elapsed)))


def _segments(plan: LivepeerSessionPlan, at_ms: int) -> int:
    end = plan.ended_at_ms if plan.ended_at_ms is not None else at_ms
    return max(0, min(at_ms, end) - plan.started_at_ms) // plan.segment_ms


def _last_tick(plan: LivepeerSessionPlan, now_ms: int) -> int | None:
    """The latest periodic flush at or before ``now_ms`` while the stream was live."""
    first = plan.started_at_ms + plan.flush_phase_ms
    horizon = now_ms if plan.ended_at_ms is None else min(now_ms, plan.ended_at_ms - 1)
    if horizon < first:
        return None
    return first + (horizon - first) // _FLUSH_MS * _FLUSH_MS


def _health(plan: LivepeerSessionPlan, now_ms: int) -> tuple[Health, Issues, int]:
    """``isHealthy``, ``issues`` and the last ``lastSeen`` bump by a health hook."""
    if plan.first_hook_after_ms is None:
        return ABSENT, ABSENT, 0
    hook = plan.started_at_ms + plan.first_hook_after_ms
    live_end = plan.ended_at_ms if plan.ended_at_ms is not None else _NEVER
    if now_ms >= live_end:
        healthy: Health = None
        issues: Issues = None
    elif now_ms < hook:
        return ABSENT, ABSENT, 0
    else:
        healthy, issues = True, None
    bump = hook if hook <= now_ms and hook < live_end else 0
    for episode in plan.episodes:
        for edge in (episode.start_ms, episode.end_ms):
            if edge <= now_ms and edge < live_end:
                bump = max(bump, edge)
        if healthy is True and episode.start_ms <= now_ms < episode.end_ms:
            healthy, issues = False, episode.issues
    return healthy, issues, bump


def observe_livepeer(plan: LivepeerSessionPlan, now_ms: int) -> LivepeerSessionTruth | None:
    """The session at ``now_ms``, or None before it is created."""
    if now_ms < plan.started_at_ms:
        return None
    ended = plan.ended_at_ms is not None and now_ms >= plan.ended_at_ms
    tick = _last_tick(plan, now_ms)
    ingest = outgoing = 0.0
    flushed_at = None
    flush_seen = 0
    if plan.ended_at_ms is not None and now_ms >= plan.ended_at_ms + _ZERO_AFTER_MS:
        flushed_at = plan.ended_at_ms
        before = _segments(plan, tick) if tick is not None else 0
        flush_seen = (
            plan.ended_at_ms + _ZERO_AFTER_MS if _segments(plan, flushed_at) > before else 0
        )
    elif tick is not None:
        flushed_at = tick
        earlier = _bytes(plan, tick - _RATE_WINDOW_MS)
        ingest = (_bytes(plan, tick) - earlier) / (_RATE_WINDOW_MS / 1000)
        outgoing = ingest * plan.transcode_factor
    if tick is not None and not flush_seen:
        first = tick == plan.started_at_ms + plan.flush_phase_ms
        flush_seen = 0 if first and _segments(plan, tick) == 0 else tick
    segments = _segments(plan, flushed_at) if flushed_at is not None else 0
    source_bytes = _bytes(plan, flushed_at) if flushed_at is not None else 0
    healthy, issues, hook_seen = _health(plan, now_ms)
    last_seen = max(flush_seen, hook_seen)
    status, url, mp4 = _recording(plan, now_ms, ended, last_seen)
    stream = plan.stream
    renditions = len(stream.profiles)
    duration = segments * plan.segment_ms / 1000
    return LivepeerSessionTruth(
        id=plan.id,
        name=plan.name,
        user_id=plan.user_id,
        project_id=plan.project_id,
        parent_id=stream.id,
        created_at=plan.started_at_ms,
        last_seen=last_seen,
        source_segments=segments,
        transcoded_segments=segments * renditions,
        source_segments_duration=duration,
        transcoded_segments_duration=duration * renditions,
        source_bytes=source_bytes,
        transcoded_bytes=int(source_bytes * plan.transcode_factor),
        ingest_rate=ingest,
        outgoing_rate=outgoing,
        is_healthy=healthy,
        issues=issues,
        record=plan.record,
        recording_status=status,
        recording_url=url,
        mp4_url=mp4,
        playback_id=stream.playback_id,
        profiles=stream.profiles,
        recording_profiles=stream.recording_profiles if plan.record else None,
        stream=stream,
        streaming=not ended,
    )


def _recording(
    plan: LivepeerSessionPlan, now_ms: int, ended: bool, last_seen: int
) -> tuple[str | None, str | None, str | None]:
    if not plan.record:
        return None, None, None
    if not ended or plan.ended_at_ms is None:
        return "waiting", None, None
    ready_at = plan.ended_at_ms + plan.recording_after_ms
    if plan.recording_outcome == "never":
        stale = now_ms - (last_seen or plan.started_at_ms) > _STALE_MS
        return ("none" if stale else "waiting"), None, None
    if now_ms < ready_at:
        return "waiting", None, None
    if plan.recording_outcome == "failed":
        return "failed", None, None
    deleted = plan.recording_deleted_after_ms
    if deleted is not None and now_ms >= ready_at + deleted:
        return "deleted", None, None
    base = f"https://recordings.livepeer.invalid/{plan.stream.playback_id}/{plan.id}"
    return "ready", f"{base}/index.m3u8", f"{base}/download.mp4"


def next_change_ms(plan: LivepeerSessionPlan, truth: LivepeerSessionTruth, now_ms: int) -> int:
    """The first instant after ``now_ms`` at which the observation may differ (or far future)."""
    events = [plan.started_at_ms]
    if plan.first_hook_after_ms is not None:
        events.append(plan.started_at_ms + plan.first_hook_after_ms)
    for episode in plan.episodes:
        events += (episode.start_ms, episode.end_ms)
    first_tick = plan.started_at_ms + plan.flush_phase_ms
    tick = _last_tick(plan, now_ms)
    upcoming = first_tick if tick is None else tick + _FLUSH_MS
    if plan.ended_at_ms is None or upcoming < plan.ended_at_ms:
        events.append(upcoming)
    if plan.ended_at_ms is not None:
        ready_at = plan.ended_at_ms + plan.recording_after_ms
        events += (plan.ended_at_ms, plan.ended_at_ms + _ZERO_AFTER_MS, ready_at)
        if plan.recording_deleted_after_ms is not None:
            events.append(ready_at + plan.recording_deleted_after_ms)
        if plan.record and plan.recording_outcome == "never":
            events.append((truth.last_seen or plan.started_at_ms) + _STALE_MS + 1)
    events.sort()
    index = bisect.bisect_right(events, now_ms)
    return events[index] if index < len(events) else _NEVER
