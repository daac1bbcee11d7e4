"""LiveKit's JSON, quirks included: protobuf-JSON encoding of the Analytics API's messages.

Real responses mix encodings the exporter must all accept, so the simulator sends them all:
64-bit counters as JSON strings or numbers, zero/false/empty fields left out entirely,
RFC 3339 timestamps with ``Z`` and 0 to 9 fractional digits, the odd unknown field, and
(in old docs) snake_case keys. Which variant a record gets is drawn from the seed and the
session id, so a run is reproducible; every variant carries exactly the truth's values.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from ..common.seeded import derive_rng
from .model import NS
from .truth import LiveKitSessionTruth, ParticipantTruth

__all__ = [
    "INT64_FIELDS",
    "LiveKitStyle",
    "encode_details",
    "encode_list_item",
    "format_timestamp",
    "livekit_style",
    "snake_case",
]

INT64_FIELDS = ("bandwidthIn", "bandwidthOut", "bandwidth", "connectionMinutes")
"""Fields protobuf declares int64, which protobuf JSON may render as strings."""

_FRACTION_DIGITS = (0, 0, 3, 3, 6, 9, 1, 2, 4, 5, 7, 8)


@dataclass(frozen=True, slots=True)
class LiveKitStyle:
    """How one session's records are rendered: a choice per record and per field."""

    string_fields: frozenset[str]
    min_fraction_digits: int
    extra_field: bool


@functools.lru_cache(maxsize=65_536)
def livekit_style(seed: int, session_id: str) -> LiveKitStyle:
    """The rendering choices for ``session_id``; strings dominate, as in real responses."""
    rng = derive_rng(seed, "livekit-style", session_id)
    strings = frozenset(name for name in INT64_FIELDS if rng.random() < 0.7)
    return LiveKitStyle(strings, rng.choice(_FRACTION_DIGITS), rng.random() < 0.1)


def format_timestamp(ns: int, min_digits: int = 0) -> str:
    """RFC 3339 in UTC with ``Z``: at least ``min_digits`` fractional digits, never lossy."""
    seconds, fraction = divmod(ns, NS)
    text = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{fraction:09d}"
    needed = len(digits.rstrip("0"))
    shown = max(needed, min_digits)
    return f"{text}.{digits[:shown]}Z" if shown else f"{text}Z"


def _int64(value: int, name: str, style: LiveKitStyle) -> int | str:
    return str(value) if name in style.string_fields else value


def _put(record: dict[str, object], key: str, value: object) -> None:
    """Protobuf JSON leaves out zero, false and empty values altogether."""
    if value is None or value is False or value == 0 or value == "" or value == {}:
        return
    if isinstance(value, list | tuple) and not value:
        return
    record[key] = value


def encode_list_item(truth: LiveKitSessionTruth, style: LiveKitStyle) -> dict[str, object]:
    """One element of ``sessions`` in the list response."""
    digits = style.min_fraction_digits
    item: dict[str, object] = {}
    _put(item, "sessionId", truth.session_id)
    _put(item, "roomName", truth.room_name)
    _put(item, "createdAt", format_timestamp(truth.created_at_ns, digits))
    if truth.ended_at_ns is not None:
        _put(item, "endedAt", format_timestamp(truth.ended_at_ns, digits))
    _put(item, "lastActive", format_timestamp(truth.last_active_ns, digits))
    if truth.bandwidth_in:
        _put(item, "bandwidthIn", _int64(truth.bandwidth_in, "bandwidthIn", style))
    if truth.bandwidth_out:
        _put(item, "bandwidthOut", _int64(truth.bandwidth_out, "bandwidthOut", style))
    _put(item, "egress", truth.egress)
    _put(item, "numParticipants", truth.num_participants)
    _put(item, "numActiveParticipants", truth.num_active_participants)
    counts: dict[str, object] = {}
    _put(counts, "attempts", truth.connection_attempts)
    _put(counts, "success", truth.connection_successes)
    _put(item, "connectionCounts", counts)
    if style.extra_field:
        item["projectRegion"] = "us-east-1"  # a field this simulator's readers do not know
    return item


def encode_details(truth: LiveKitSessionTruth, style: LiveKitStyle) -> dict[str, object]:
    """The session-details response body."""
    digits = style.min_fraction_digits
    body: dict[str, object] = {}
    _put(body, "roomId", truth.session_id)
    _put(body, "roomName", truth.room_name)
    _put(body, "status", 1 if truth.active else 0)
    if truth.billable_bandwidth:
        _put(body, "bandwidth", _int64(truth.billable_bandwidth, "bandwidth", style))
    if truth.connection_minutes:
        minutes = _int64(truth.connection_minutes, "connectionMinutes", style)
        _put(body, "connectionMinutes", minutes)
    _put(body, "startTime", format_timestamp(truth.created_at_ns, digits))
    if truth.ended_at_ns is not None:
        _put(body, "endTime", format_timestamp(truth.ended_at_ns, digits))
    _put(body, "numParticipants", truth.num_participants)
    _put(body, "participants", [_participant(p, style) for p in truth.participants])
    if style.extra_field:
        body["projectRegion"] = "us-east-1"
    return body


def _participant(p: ParticipantTruth, style: LiveKitStyle) -> dict[str, object]:
    digits = style.min_fraction_digits
    item: dict[str, object] = {}
    _put(item, "participantIdentity", p.identity)
    _put(item, "participantName", p.name)
    _put(item, "roomId", p.room_id)
    _put(item, "joinedAt", format_timestamp(p.joined_at_ns, digits))
    if p.left_at_ns is not None:
        _put(item, "leftAt", format_timestamp(p.left_at_ns, digits))
    _put(item, "isActive", p.is_active)
    _put(item, "region", p.region)
    _put(item, "connectionType", p.connection_type)
    _put(item, "sdkVersion", p.sdk_version)
    sources: dict[str, object] = {}
    _put(sources, "cameraTrack", p.published.camera)
    _put(sources, "microphoneTrack", p.published.microphone)
    _put(sources, "screenShareTrack", p.published.screen_share)
    _put(sources, "screenShareAudio", p.published.screen_share_audio)
    _put(item, "publishedSources", sources)
    connections = []
    for c in p.connections:
        entry: dict[str, object] = {}
        _put(entry, "participantId", c.participant_id)
        _put(entry, "joinedAt", format_timestamp(c.joined_at_ns, digits))
        if c.left_at_ns is not None:
            _put(entry, "leftAt", format_timestamp(c.left_at_ns, digits))
        connections.append(entry)
    _put(item, "sessions", connections)
    return item


_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


@functools.lru_cache(maxsize=256)
def _snake_key(key: str) -> str:
    return _CAMEL.sub(r"_\1", key).lower()


def snake_case(record: dict[str, object] | list[object]) -> dict[str, object]:
    """The same JSON object with snake_case keys, as LiveKit's docs once showed it."""
    if not isinstance(record, dict):
        raise TypeError("LiveKit bodies are JSON objects")
    return {_snake_key(key): _snake_value(value) for key, value in record.items()}


def _snake_value(value: object) -> object:
    if isinstance(value, dict):
        return {_snake_key(str(k)): _snake_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake_value(v) for v in value]
    return value
