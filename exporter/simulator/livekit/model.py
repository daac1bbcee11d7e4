"""The plan of one LiveKit room session: who joins when, what they publish, egress.

A plan is a complete, immutable script of a session, drawn once from the seed. What the
Analytics API shows at any instant is derived from it (:mod:`.truth`), so nothing is
stepped or mutated as time passes, and any instant can be looked at in any order. All times
are integer nanoseconds since the Unix epoch; each session's times are rounded to a
per-session precision (whole seconds down to nanoseconds) so every RFC 3339 rendering of
them is exact.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass

from ..common.seeded import derive_rng, log_uniform, random_text

__all__ = [
    "NS",
    "Connection",
    "LiveKitCore",
    "LiveKitSessionPlan",
    "ParticipantPlan",
    "draw_livekit_core",
    "livekit_room_name",
    "materialize_livekit",
]

NS = 1_000_000_000
_MINUTE = 60 * NS
_DEPARTURE_TIMEOUT = 20 * NS  # LiveKit closes an empty room after its departure timeout

_ROOMS = (
    "standup", "support-call", "town-hall", "pairing", "webinar", "office-hours",
    "interview", "classroom", "game-lobby", "podcast", "sales-demo", "watch-party",
)  # fmt: skip
_UNICODE_ROOMS = ("Réunion d'équipe", "会议室", "Sala de reunião", "Встреча", "카페 ☕")
_NAMES = (
    "Alice", "Bob", "Chidi", "Dana", "Élodie", "Farah", "Goro", "Hana", "Ilse", "Jonas",
    "Kwame", "Lena", "Mateo", "Nour", "Oskar", "Priya", "Quinn", "Rosa", "Søren", "Tomás",
)  # fmt: skip
_REGIONS = ("US East", "US West", "EU Central", "EU West", "India", "Japan", "Brazil")
_CONNECTION_TYPES = ("UDP", "UDP", "UDP", "TCP", "TURN")
_SDK_VERSIONS = ("2.9.2", "2.8.1", "1.2.0", "0.14.4", "2.5.7")
_PRECISION_DIGITS = (0, 1, 2, 3, 3, 3, 6, 6, 9)
_BASE62 = string.digits + string.ascii_letters

_Quantize = Callable[[int], int]


@dataclass(frozen=True, slots=True)
class Connection:
    """One (re)connection of a participant; ``left_at_ns`` None lasts until the room ends."""

    participant_id: str
    joined_at_ns: int
    left_at_ns: int | None = None


@dataclass(frozen=True, slots=True)
class ParticipantPlan:
    """A participant's script; a ``*_from_ns`` of None means that source is never published."""

    identity: str
    name: str
    connections: tuple[Connection, ...]
    region: str = "US East"
    connection_type: str = "UDP"
    sdk_version: str = "2.9.2"
    camera_from_ns: int | None = None
    microphone_from_ns: int | None = None
    screen_share_from_ns: int | None = None
    screen_share_audio_from_ns: int | None = None
    bytes_in_per_second: int = 0
    bytes_out_per_second: int = 0
    failed_attempts: int = 0


@dataclass(frozen=True, slots=True)
class LiveKitSessionPlan:
    """A room session's script; ``ended_at_ns`` None keeps it active until removed.

    ``egress_ended_at_ns`` None means an egress that started runs until the session ends.
    """

    session_id: str
    room_name: str
    started_at_ns: int
    ended_at_ns: int | None
    participants: tuple[ParticipantPlan, ...] = ()
    egress_started_at_ns: int | None = None
    egress_ended_at_ns: int | None = None


def _session_id(rng: random.Random) -> str:
    """A room session id in LiveKit's ``RM_`` + 12 base62 characters form."""
    return "RM_" + random_text(rng, _BASE62, 12)


def _participant_id(rng: random.Random) -> str:
    """A participant session id, ``PA_`` + 12 base62 characters."""
    return "PA_" + random_text(rng, _BASE62, 12)


def livekit_room_name(seed: int, slot: int) -> str:
    """The stable name of a simulated room (rooms outlive their sessions)."""
    rng = derive_rng(seed, "livekit-room", slot)
    if rng.random() < 0.04:
        return f"{rng.choice(_UNICODE_ROOMS)} {slot}"
    return f"{rng.choice(_ROOMS)}-{slot}"


@dataclass(frozen=True, slots=True)
class LiveKitCore:
    """The cheap part of a plan: when the session runs, drawn before its participants.

    The world needs only this to order and page sessions; participants are drawn from a
    separate random stream when a session is first looked at closely.
    """

    session_id: str
    room_name: str
    started_at_ns: int
    last_leave_ns: int | None
    ended_at_ns: int | None
    unit_ns: int


def draw_livekit_core(
    rng: random.Random,
    *,
    room_name: str,
    started_at_ns: int,
    active_ns: int | None,
    session_id: str | None = None,
) -> LiveKitCore:
    """Times of a session starting at ``started_at_ns``; None ``active_ns`` never ends.

    The room closes after the departure timeout once the last participant leaves, or
    lingers as a "ghost" with nobody in it, as users report of LiveKit Cloud.
    """
    unit = 10 ** (9 - rng.choice(_PRECISION_DIGITS))
    start = started_at_ns - started_at_ns % unit
    sid = session_id if session_id is not None else _session_id(rng)
    last_leave = ended = None
    if active_ns is not None:
        last_leave = start + active_ns
        tail = _DEPARTURE_TIMEOUT
        if rng.random() < 0.06:
            tail += int(log_uniform(rng, 5 * _MINUTE, 40 * _MINUTE))
        ended = last_leave + tail
        ended -= ended % unit
    return LiveKitCore(sid, room_name, start, last_leave, ended, unit)


def materialize_livekit(core: LiveKitCore, rng: random.Random) -> LiveKitSessionPlan:
    """Draw the participants and egress of ``core``: the full plan."""
    unit = core.unit_ns

    def q(value: int) -> int:
        return value - value % unit

    start, last_leave = core.started_at_ns, core.last_leave_ns
    spread = last_leave - start if last_leave is not None else 60 * _MINUTE
    count = rng.choices(range(1, 13), weights=(10, 25, 20, 15, 10, 6, 4, 3, 2, 2, 2, 1))[0]
    participants = tuple(
        _participant(rng, q, host=(i == 0), start=start, spread=spread, last_leave=last_leave)
        for i in range(count)
    )
    egress_start = egress_end = None
    if rng.random() < 0.25:
        egress_start = q(start + int(rng.uniform(0.0, 0.3) * spread))
        if rng.random() < 0.5:
            horizon = last_leave if last_leave is not None else egress_start + spread
            egress_end = q(egress_start + int(rng.uniform(0.2, 0.9) * (horizon - egress_start)))
    return LiveKitSessionPlan(
        session_id=core.session_id,
        room_name=core.room_name,
        started_at_ns=start,
        ended_at_ns=core.ended_at_ns,
        participants=participants,
        egress_started_at_ns=egress_start,
        egress_ended_at_ns=egress_end,
    )


def _participant(
    rng: random.Random,
    q: _Quantize,
    *,
    host: bool,
    start: int,
    spread: int,
    last_leave: int | None,
) -> ParticipantPlan:
    if host:
        joined = q(start + int(rng.uniform(0, 2 * NS)))
        left = last_leave
    else:
        joined = q(start + int(rng.uniform(0.0, 0.6) * spread))
        if last_leave is None:
            left = None if rng.random() < 0.5 else joined + int(log_uniform(rng, 2, 30) * _MINUTE)
        else:
            left = joined + int(rng.uniform(0.2, 1.0) * (last_leave - joined))
    left = None if left is None else max(q(left), joined + 1)
    first_end = left
    connections: list[Connection] = []
    if rng.random() < 0.15 and (left is None or left - joined > 5 * _MINUTE):
        span = left - joined if left is not None else spread
        first_end = q(joined + int(rng.uniform(0.2, 0.6) * span))
        rejoin = q(first_end + int(rng.uniform(5, 60) * NS))
        connections.append(Connection(_participant_id(rng), joined, first_end))
        connections.append(Connection(_participant_id(rng), rejoin, left))
    else:
        connections.append(Connection(_participant_id(rng), joined, left))

    def source_from(probability: float, after: int) -> int | None:
        if rng.random() >= probability:
            return None
        at = q(joined + after)
        return at if first_end is None or at < first_end else None

    first_span = (first_end - joined) if first_end is not None else spread
    camera = source_from(0.7, int(rng.uniform(0.5, 5) * NS))
    microphone = source_from(0.9, int(rng.uniform(0.2, 3) * NS))
    screen = source_from(0.12, int(rng.uniform(0.1, 0.5) * first_span))
    screen_audio = None
    if screen is not None and rng.random() < 0.4:
        screen_audio = screen
    bytes_in = 500
    bytes_in += rng.randint(120_000, 280_000) if camera is not None else 0
    bytes_in += rng.randint(3_000, 8_000) if microphone is not None else 0
    bytes_in += rng.randint(40_000, 160_000) if screen is not None else 0
    name = rng.choice(_NAMES)
    return ParticipantPlan(
        identity=f"user-{rng.getrandbits(32):08x}",
        name=name,
        connections=tuple(connections),
        region=rng.choice(_REGIONS),
        connection_type=rng.choice(_CONNECTION_TYPES),
        sdk_version=rng.choice(_SDK_VERSIONS),
        camera_from_ns=camera,
        microphone_from_ns=microphone,
        screen_share_from_ns=screen,
        screen_share_audio_from_ns=screen_audio,
        bytes_in_per_second=bytes_in,
        bytes_out_per_second=rng.randint(80_000, 600_000),
        failed_attempts=rng.choice((1, 2)) if rng.random() < 0.1 else 0,
    )
