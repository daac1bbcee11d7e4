"""What LiveKit's Analytics API reports about a session at one instant: the ground truth.

:func:`observe_livekit` turns a plan and an instant into typed values. The HTTP app encodes
exactly these values (string or number ints, omitted zeros...), and tests compare what the
exporter exports with them, so both sides read the same numbers by construction.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import NS, LiveKitSessionPlan, ParticipantPlan

__all__ = [
    "EGRESS_ACTIVE",
    "EGRESS_ENDED",
    "EGRESS_NEVER_STARTED",
    "ConnectionTruth",
    "LiveKitSessionTruth",
    "ParticipantTruth",
    "PublishedSources",
    "observe_livekit",
]

EGRESS_NEVER_STARTED = 0
EGRESS_ACTIVE = 1
EGRESS_ENDED = 2
_MINUTE = 60 * NS


@dataclass(frozen=True, slots=True)
class PublishedSources:
    """The track sources a participant has published so far."""

    camera: bool = False
    microphone: bool = False
    screen_share: bool = False
    screen_share_audio: bool = False


@dataclass(frozen=True, slots=True)
class ConnectionTruth:
    """One entry of a participant's ``sessions[]``; ``left_at_ns`` None while connected."""

    participant_id: str
    joined_at_ns: int
    left_at_ns: int | None


@dataclass(frozen=True, slots=True)
class ParticipantTruth:
    """A participant as session details show it; ``left_at_ns`` is None while connected."""

    identity: str
    name: str
    room_id: str
    region: str
    connection_type: str
    sdk_version: str
    joined_at_ns: int
    left_at_ns: int | None
    is_active: bool
    published: PublishedSources
    connections: tuple[ConnectionTruth, ...]


@dataclass(frozen=True, slots=True)
class LiveKitSessionTruth:
    """A session as the list and details endpoints describe it at one instant.

    List fields: ``session_id`` … ``connection_successes``. Details add the participants,
    ``billable_bandwidth`` (details ``bandwidth``) and ``connection_minutes``. Timestamps are
    integer nanoseconds; ``created_at_s`` gives the start in float Unix seconds.
    """

    session_id: str
    room_name: str
    created_at_ns: int
    ended_at_ns: int | None
    last_active_ns: int
    bandwidth_in: int
    bandwidth_out: int
    egress: int
    num_participants: int
    num_active_participants: int
    connection_attempts: int
    connection_successes: int
    billable_bandwidth: int
    connection_minutes: int
    participants: tuple[ParticipantTruth, ...]

    @property
    def active(self) -> bool:
        """True while the session has no ``endedAt``."""
        return self.ended_at_ns is None

    @property
    def created_at_s(self) -> float:
        return self.created_at_ns / NS

    def publishers(self) -> dict[str, int]:
        """Connected participants publishing each source, keyed by metric ``track_source``."""
        counts = {"camera": 0, "microphone": 0, "screen_share": 0, "screen_share_audio": 0}
        for p in self.participants:
            if p.is_active:
                counts["camera"] += p.published.camera
                counts["microphone"] += p.published.microphone
                counts["screen_share"] += p.published.screen_share
                counts["screen_share_audio"] += p.published.screen_share_audio
        return counts


def observe_livekit(plan: LiveKitSessionPlan, now_ns: int) -> LiveKitSessionTruth | None:
    """The session at ``now_ns``, or None before it starts."""
    if now_ns < plan.started_at_ns:
        return None
    ended = plan.ended_at_ns is not None and now_ns >= plan.ended_at_ns
    participants: list[ParticipantTruth] = []
    bandwidth_in = bandwidth_out = minutes = attempts = successes = 0
    last_leave = plan.started_at_ns
    for p in plan.participants:
        observed = _observe_participant(plan, p, now_ns)
        if observed is None:
            continue
        truth, connected_ns, latest_leave = observed
        participants.append(truth)
        bandwidth_in += p.bytes_in_per_second * connected_ns // NS
        bandwidth_out += p.bytes_out_per_second * connected_ns // NS
        minutes += -(-connected_ns // _MINUTE)
        attempts += len(truth.connections) + p.failed_attempts
        successes += len(truth.connections)
        last_leave = max(last_leave, latest_leave)
    active = sum(p.is_active for p in participants)
    last_active = max(plan.started_at_ns, now_ns - now_ns % NS) if active else last_leave
    return LiveKitSessionTruth(
        session_id=plan.session_id,
        room_name=plan.room_name,
        created_at_ns=plan.started_at_ns,
        ended_at_ns=plan.ended_at_ns if ended else None,
        last_active_ns=last_active,
        bandwidth_in=bandwidth_in,
        bandwidth_out=bandwidth_out,
        egress=_egress(plan, now_ns, ended),
        num_participants=len(participants),
        num_active_participants=active,
        connection_attempts=attempts,
        connection_successes=successes,
        billable_bandwidth=bandwidth_in + bandwidth_out,
        connection_minutes=minutes,
        participants=tuple(participants),
    )


def _observe_participant(
    plan: LiveKitSessionPlan, p: ParticipantPlan, now_ns: int
) -> tuple[ParticipantTruth, int, int] | None:
    """The participant, its connected nanoseconds so far and its latest leave, if joined."""
    connections: list[ConnectionTruth] = []
    connected = False
    connected_ns = 0
    latest_leave = 0
    for c in p.connections:
        if c.joined_at_ns > now_ns:
            break
        left = c.left_at_ns if c.left_at_ns is not None else plan.ended_at_ns
        if left is not None and left <= now_ns:
            connected_ns += left - c.joined_at_ns
            latest_leave = max(latest_leave, left)
            connections.append(ConnectionTruth(c.participant_id, c.joined_at_ns, left))
        else:
            connected = True
            connected_ns += now_ns - c.joined_at_ns
            connections.append(ConnectionTruth(c.participant_id, c.joined_at_ns, None))
    if not connections:
        return None

    def published(since: int | None) -> bool:
        return since is not None and since <= now_ns

    truth = ParticipantTruth(
        identity=p.identity,
        name=p.name,
        room_id=plan.session_id,
        region=p.region,
        connection_type=p.connection_type,
        sdk_version=p.sdk_version,
        joined_at_ns=connections[0].joined_at_ns,
        left_at_ns=None if connected else latest_leave,
        is_active=connected,
        published=PublishedSources(
            camera=published(p.camera_from_ns),
            microphone=published(p.microphone_from_ns),
            screen_share=published(p.screen_share_from_ns),
            screen_share_audio=published(p.screen_share_audio_from_ns),
        ),
        connections=tuple(connections),
    )
    return truth, connected_ns, latest_leave


def _egress(plan: LiveKitSessionPlan, now_ns: int, ended: bool) -> int:
    if plan.egress_started_at_ns is None or now_ns < plan.egress_started_at_ns:
        return EGRESS_NEVER_STARTED
    stop = plan.egress_ended_at_ns
    if (stop is not None and now_ns >= stop) or ended:
        return EGRESS_ENDED
    return EGRESS_ACTIVE
