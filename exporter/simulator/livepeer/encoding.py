"""Studio's JSON for a session, quirks included, as ``GET /session`` sends it.

Node's ``JSON.stringify`` writes whole numbers without a fraction, so most records carry
integers; the seed picks some records whose numbers come as floats (``1760000050123.0``)
to exercise readers that insist on one or the other. ``isHealthy`` and ``issues`` may be
missing or null, ``recordingStatus`` is missing unless ``record`` is true, and every item
carries the raw parent stream record as ``parentStream``, stream key included.
"""

from __future__ import annotations

import functools

from ..common.seeded import derive_rng
from .model import Profile
from .truth import ABSENT, LivepeerSessionTruth

__all__ = ["encode_profile", "encode_session", "livepeer_floats"]


@functools.lru_cache(maxsize=65_536)
def livepeer_floats(seed: int, session_id: str) -> bool:
    """Whether this session's whole numbers are written as floats (one record in five)."""
    return derive_rng(seed, "livepeer-style", session_id).random() < 0.2


def _number(value: float, floats: bool) -> int | float:
    if floats:
        return float(value)
    return int(value) if float(value).is_integer() else value


@functools.lru_cache(maxsize=1024)
def encode_profile(profile: Profile) -> dict[str, object]:
    """An ``ffmpeg-profile`` / ``transcode-profile`` object (shared: never mutate it)."""
    body: dict[str, object] = {
        "name": profile.name,
        "width": profile.width,
        "height": profile.height,
        "bitrate": profile.bitrate,
        "fps": profile.fps,
    }
    if profile.gop is not None:
        body["gop"] = profile.gop
    if profile.profile is not None:
        body["profile"] = profile.profile
    if profile.encoder is not None:
        body["encoder"] = profile.encoder
    return body


def _stats(truth: LivepeerSessionTruth, floats: bool) -> dict[str, object]:
    return {
        "lastSeen": _number(truth.last_seen, floats),
        "sourceSegments": _number(truth.source_segments, floats),
        "transcodedSegments": _number(truth.transcoded_segments, floats),
        "sourceSegmentsDuration": _number(truth.source_segments_duration, floats),
        "transcodedSegmentsDuration": _number(truth.transcoded_segments_duration, floats),
        "sourceBytes": _number(truth.source_bytes, floats),
        "transcodedBytes": _number(truth.transcoded_bytes, floats),
        "ingestRate": _number(truth.ingest_rate, floats),
        "outgoingRate": _number(truth.outgoing_rate, floats),
    }


def _health(truth: LivepeerSessionTruth, body: dict[str, object]) -> None:
    if truth.is_healthy is not ABSENT:
        body["isHealthy"] = truth.is_healthy
    if truth.issues is not ABSENT:
        body["issues"] = None if truth.issues is None else list(truth.issues)


def encode_session(truth: LivepeerSessionTruth, floats: bool) -> dict[str, object]:
    """One item of the ``GET /session`` array, with its ``parentStream``."""
    body: dict[str, object] = {
        "id": truth.id,
        "kind": "session",
        "userId": truth.user_id,
        "name": truth.name,
        "record": truth.record,
        "parentId": truth.parent_id,
    }
    if truth.project_id is not None:
        body["projectId"] = truth.project_id
    body["createdAt"] = _number(truth.created_at, floats)
    body.update(_stats(truth, floats))
    _health(truth, body)
    body["playbackId"] = truth.playback_id
    body["profiles"] = [encode_profile(p) for p in truth.profiles]
    if truth.recording_profiles is not None:
        body["recordingSpec"] = {"profiles": [encode_profile(p) for p in truth.recording_profiles]}
    if truth.recording_status is not None:
        body["recordingStatus"] = truth.recording_status
    if truth.recording_url is not None:
        body["recordingUrl"] = truth.recording_url
    if truth.mp4_url is not None:
        body["mp4Url"] = truth.mp4_url
    body["parentStream"] = _parent_stream(truth, floats)
    return body


def _parent_stream(truth: LivepeerSessionTruth, floats: bool) -> dict[str, object]:
    """The raw stream record Studio joins in; live fields mirror its current session."""
    stream = truth.stream
    body: dict[str, object] = {
        "id": stream.id,
        "kind": "stream",
        "name": stream.name,
        "userId": stream.user_id,
        "createdAt": _number(stream.created_at_ms, floats),
        "streamKey": stream.stream_key,
        "playbackId": stream.playback_id,
        "record": stream.record,
        "profiles": [encode_profile(p) for p in stream.profiles],
        "isActive": truth.streaming,
        "suspended": False,
        "multistream": {"targets": []},
        "createdByTokenName": "backend",
    }
    if stream.project_id is not None:
        body["projectId"] = stream.project_id
    if stream.recording_profiles is not None:
        body["recordingSpec"] = {"profiles": [encode_profile(p) for p in stream.recording_profiles]}
    body.update(_stats(truth, floats))
    _health(truth, body)
    return body
