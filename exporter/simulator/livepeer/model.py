"""The plan of one Livepeer Studio stream session: streaming, health, recording.

As on the LiveKit side, a plan is an immutable script drawn once from the seed; what
``GET /session`` shows at an instant is derived from it (:mod:`.truth`). Times are
integer milliseconds since the Unix epoch, Studio's own unit. The health sentences follow
MistServer's wording (``"Error: …"``/``"Warning: …"``), which Studio relays as ``issues``.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from typing import Literal

from ..common.seeded import derive_rng, log_uniform, random_text, uuid_from

__all__ = [
    "ISSUE_SENTENCES",
    "HealthEpisode",
    "LivepeerSessionPlan",
    "Profile",
    "RecordingOutcome",
    "StreamPlan",
    "generate_livepeer_plan",
    "generate_stream",
]

RecordingOutcome = Literal["ready", "failed", "never"]

ISSUE_SENTENCES = (
    "Error: The stream's key frame interval is over 10 seconds. This will have a negative effect"
    " on end-to-end latency for some playback methods. If possible, please adjust the key frame"
    " interval to a constant value between 1 to 5 seconds for the best experience.",
    "Warning: The stream's key frame interval is below 0.75 seconds. This wastes bandwidth and"
    " may lower picture quality. If possible, please adjust the key frame interval to a constant"
    " value between 1 to 5 seconds.",
    "Warning: The stream's key frame interval varies by more than 20%. Some playback methods may"
    " stall or show artifacts. Please configure your encoder to use a constant key frame interval.",
    "Warning: There are gaps of more than 500 milliseconds between frames of track 1 (video)."
    " Viewers may see the stream freeze or stutter. Please check your encoder and its network.",
    "Error: The stream's jitter is over 500 milliseconds. Playback will likely buffer for viewers"
    " using low latency settings. Please check the network between your encoder and the ingest.",
    "Warning: The stream has no AAC audio track. Some browsers will play the stream without"
    " sound. Please configure your encoder to send AAC audio.",
    "Error: The stream has no H264 video track. Most browsers cannot play this stream. Please"
    " configure your encoder to send H264 video.",
)
_STREAM_NAMES = (
    "church-sunday-live", "esports-finals", "lofi-radio", "studio-cam", "town-council",
    "yoga-morning", "concert-stage", "newsroom", "product-launch", "drone-feed",
)  # fmt: skip
_UNICODE_STREAMS = ("カメラ", "Übertragung", "直播间", "Transmissão ao vivo")
_LOWER36 = string.digits + string.ascii_lowercase


@dataclass(frozen=True, slots=True)
class Profile:
    """A transcoding profile (OpenAPI ``ffmpeg-profile`` / ``transcode-profile``)."""

    name: str
    width: int
    height: int
    bitrate: int
    fps: int = 0
    gop: str | None = None
    profile: str | None = None
    encoder: str | None = None


DEFAULT_PROFILES = (
    Profile("240p0", 426, 240, 250_000),
    Profile("360p0", 640, 360, 800_000),
    Profile("480p0", 854, 480, 1_600_000),
    Profile("720p0", 1280, 720, 3_000_000),
)


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """The parent stream, which outlives its sessions (``parentStream`` in list items)."""

    id: str
    name: str
    stream_key: str
    playback_id: str
    user_id: str
    project_id: str | None
    created_at_ms: int
    record: bool
    profiles: tuple[Profile, ...] = DEFAULT_PROFILES
    recording_profiles: tuple[Profile, ...] | None = None


@dataclass(frozen=True, slots=True)
class HealthEpisode:
    """An unhealthy spell; ``issues`` may be empty (Studio then sends ``[]``)."""

    start_ms: int
    end_ms: int
    issues: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LivepeerSessionPlan:
    """A session's script; ``ended_at_ms`` None streams until removed.

    ``first_hook_after_ms`` None means no health hook ever arrives, so ``isHealthy`` and
    ``issues`` stay absent. ``recording_*`` apply when ``record`` is true and the session has
    ended: the asset turns ``ready`` or ``failed`` ``recording_after_ms`` later, or never
    appears and the status falls to ``none`` once the session is stale (3 h).
    """

    id: str
    name: str
    stream: StreamPlan
    started_at_ms: int
    ended_at_ms: int | None
    project_id: str | None
    user_id: str
    record: bool
    first_hook_after_ms: int | None = 4_000
    episodes: tuple[HealthEpisode, ...] = ()
    flush_phase_ms: int = 10_000
    source_bytes_per_second: float = 400_000.0
    wobble_period_s: float = 600.0
    transcode_factor: float = 2.0
    segment_ms: int = 2_000
    recording_outcome: RecordingOutcome = "ready"
    recording_after_ms: int = 120_000
    recording_deleted_after_ms: int | None = None


def _playback_id(rng: random.Random) -> str:
    """A 16-character Livepeer playback id such as ``eaw4nk06ts2d0mzb``."""
    return random_text(rng, _LOWER36, 16)


def _stream_key(rng: random.Random) -> str:
    """A Livepeer stream key: four dash-separated groups of four characters."""
    return "-".join(random_text(rng, _LOWER36, 4) for _ in range(4))


def generate_stream(
    seed: int, key: object, *, created_at_ms: int, project_id: str | None, user_id: str
) -> StreamPlan:
    """A parent stream with its key, playback id, profiles and recording choice."""
    rng = derive_rng(seed, "livepeer-stream", key)
    if rng.random() < 0.05:
        name = f"{rng.choice(_UNICODE_STREAMS)} {key}"
    else:
        name = f"{rng.choice(_STREAM_NAMES)}-{key}"
    roll = rng.random()
    profiles: tuple[Profile, ...]
    if roll < 0.7:
        profiles = DEFAULT_PROFILES
    elif roll < 0.9:
        profiles = (
            Profile("720p60", 1280, 720, 4_500_000, 60, "2.0", "H264High", "H.264"),
            Profile("360p30", 640, 360, 900_000, 30, "2.0", "H264Main", "H.264"),
        )[: rng.randint(1, 2)]
    else:
        profiles = ()
    record = rng.random() < 0.4
    recording_profiles = None
    if record and rng.random() < 0.5:
        recording_profiles = (Profile("1080p", 1920, 1080, 6_000_000, 30, encoder="HEVC"),)
    return StreamPlan(
        id=uuid_from(rng),
        name=name,
        stream_key=_stream_key(rng),
        playback_id=_playback_id(rng),
        user_id=user_id,
        project_id=project_id,
        created_at_ms=created_at_ms - int(rng.uniform(1, 90) * 86_400_000),
        record=record,
        profiles=profiles,
        recording_profiles=recording_profiles,
    )


def generate_livepeer_plan(
    rng: random.Random,
    *,
    stream: StreamPlan,
    started_at_ms: int,
    duration_ms: int | None,
    session_id: str | None = None,
) -> LivepeerSessionPlan:
    """Script a session of ``stream`` starting at ``started_at_ms``; None streams forever."""
    ended = None if duration_ms is None else started_at_ms + duration_ms
    hook = None if rng.random() < 0.05 else rng.randint(2_000, 8_000)
    span = duration_ms if duration_ms is not None else 3_600_000
    episodes: list[HealthEpisode] = []
    if hook is not None and rng.random() < 0.4:
        cursor = started_at_ms + hook + 1
        for _ in range(rng.randint(1, 3)):
            start = cursor + int(rng.uniform(0.05, 0.4) * span)
            end = start + int(log_uniform(rng, 20_000, 300_000))
            if ended is not None and end >= ended:
                break
            issues = (
                () if rng.random() < 0.1 else tuple(rng.sample(ISSUE_SENTENCES, rng.randint(1, 2)))
            )
            episodes.append(HealthEpisode(start, end, issues))
            cursor = end + 1
    outcome: RecordingOutcome = rng.choices(("ready", "failed", "never"), (80, 10, 10))[0]
    deleted = None
    if outcome == "ready" and rng.random() < 0.05:
        deleted = int(log_uniform(rng, 600_000, 3_600_000))
    return LivepeerSessionPlan(
        id=session_id if session_id is not None else uuid_from(rng),
        name=f"video+{stream.playback_id}",
        stream=stream,
        started_at_ms=started_at_ms,
        ended_at_ms=ended,
        project_id=stream.project_id,
        user_id=stream.user_id,
        record=stream.record,
        first_hook_after_ms=hook,
        episodes=tuple(episodes),
        flush_phase_ms=rng.randint(1_000, 50_000),
        source_bytes_per_second=round(log_uniform(rng, 150_000, 1_200_000), 3),
        wobble_period_s=rng.uniform(300, 900),
        transcode_factor=round(rng.uniform(1.5, 3.0), 3) if stream.profiles else 0.0,
        segment_ms=rng.choice((2_000, 2_000, 1_000, 4_000)),
        recording_outcome=outcome,
        recording_after_ms=int(log_uniform(rng, 30_000, 600_000)),
        recording_deleted_after_ms=deleted,
    )
