"""LiveKit Analytics payloads → immutable typed records, tolerant of every encoding variant.

Bodies arrive as plain JSON values (``decode_json``); each list item, and each participant
of a details body, is converted on its own with msgspec, so one bad record costs only itself
(:class:`InvalidRecord`, skipped and counted by the caller) while a body of the wrong overall
shape is a :class:`~exporter.errors.PayloadError`. A list page whose items are all valid and
whose keys need no renaming (the usual case) is converted in one msgspec call instead, which
gives the same records for a fraction of the CPU; any other page is read item by item.
Accepted, as LiveKit's protobuf JSON may send them: camelCase or snake_case keys (camelCase
wins when both are present), 64-bit ints as JSON numbers or numeric strings, zero/false/empty
fields omitted (or null), RFC 3339 timestamps (:mod:`.timestamps`), and any unknown field.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import Annotated, Final, TypeVar, cast

import msgspec

from exporter.errors import PayloadError
from exporter.sources.base import Page
from exporter.sources.livekit.timestamps import parse_timestamp_ns

__all__ = [
    "TRACK_SOURCES",
    "InvalidRecord",
    "ListedSession",
    "Publishers",
    "SessionDetails",
    "parse_details",
    "parse_page",
]

TRACK_SOURCES: Final = ("camera", "microphone", "screen_share", "screen_share_audio")

_T = TypeVar("_T")
_INT64_MAX: Final = 2**63 - 1
_Count = Annotated[int, msgspec.Meta(ge=0, le=_INT64_MAX)]
"""A protobuf int64 count: JSON allows any integer, but one beyond 64 bits is not a LiveKit
value, and one beyond a float's range could not even be exported."""
_Egress = Annotated[int, msgspec.Meta(ge=0, le=2)]
_Minutes = Annotated[float, msgspec.Meta(ge=0)]


class InvalidRecord(ValueError):
    """One upstream record of the wrong shape; the rest of its page is still good."""


class ListedSession(msgspec.Struct, frozen=True, gc=False):
    """One session of the list endpoint; timestamps in integer nanoseconds since the epoch.

    A frozen msgspec struct rather than a frozen dataclass: built ten thousand times a poll,
    it is created several times faster, and (holding only scalars, so never in a cycle) it
    need not be tracked by the garbage collector.
    """

    session_id: str
    room_name: str
    created_at_ns: int
    ended_at_ns: int | None
    last_active_ns: int | None
    bandwidth_in: int
    bandwidth_out: int
    egress: int
    num_participants: int
    num_active_participants: int

    @property
    def active(self) -> bool:
        """A listed session is active while it has no ``endedAt``."""
        return self.ended_at_ns is None


class Publishers(msgspec.Struct, frozen=True, gc=False):
    """Connected participants publishing each track source (a struct, as ``ListedSession``:
    a snapshot adds up one per active session)."""

    camera: int = 0
    microphone: int = 0
    screen_share: int = 0
    screen_share_audio: int = 0

    def __add__(self, other: Publishers) -> Publishers:
        return Publishers(
            self.camera + other.camera,
            self.microphone + other.microphone,
            self.screen_share + other.screen_share,
            self.screen_share_audio + other.screen_share_audio,
        )

    def counts(self) -> tuple[int, int, int, int]:
        """Counts in :data:`TRACK_SOURCES` order."""
        return (self.camera, self.microphone, self.screen_share, self.screen_share_audio)


@dataclass(frozen=True, slots=True)
class SessionDetails:
    """What the details endpoint adds; None where the body does not carry the field."""

    publishers: Publishers
    billable_bandwidth: int | None
    connection_minutes: float | None


class _RawSession(msgspec.Struct, rename="camel", gc=False):
    session_id: str | None = None
    room_name: str | None = None
    created_at: str | None = None
    ended_at: str | None = None
    last_active: str | None = None
    bandwidth_in: _Count | None = None
    bandwidth_out: _Count | None = None
    egress: _Egress | None = None
    num_participants: _Count | None = None
    num_active_participants: _Count | None = None


class _RawSources(msgspec.Struct, rename="camel"):
    camera_track: bool | None = None
    microphone_track: bool | None = None
    screen_share_track: bool | None = None
    screen_share_audio: bool | None = None


class _RawParticipant(msgspec.Struct, rename="camel"):
    left_at: str | None = None
    is_active: bool | None = None
    published_sources: dict[str, object] | None = None


class _RawDetails(msgspec.Struct, rename="camel"):
    bandwidth: _Count | None = None
    connection_minutes: _Minutes | None = None
    participants: list[object] | None = None


def parse_page(body: object) -> Page[ListedSession]:
    """A list body ``{"sessions": [...]}``; a missing or null ``sessions`` means none.

    Each invalid item is counted, and the first one named by its path (never its values).
    """
    if not isinstance(body, dict):
        raise PayloadError("list_sessions: body is not a JSON object")
    items = body.get("sessions")
    if items is None:
        return Page((), 0, 0)
    if not isinstance(items, list):
        raise PayloadError("list_sessions: sessions is not an array", path="$.sessions")
    raws = _convert_page(items)
    sessions: list[ListedSession] = []
    errors: list[str] = []
    for index, item in enumerate(items):
        try:
            sessions.append(_listed(_convert(item, _RawSession) if raws is None else raws[index]))
        except InvalidRecord as exc:
            errors.append(f"$.sessions[{index}]: {exc}")
    return Page(tuple(sessions), len(items), len(errors), errors[0] if errors else None)


def _convert_page(items: list[object]) -> list[_RawSession] | None:
    """Every item converted in one msgspec call, or None where that could differ from
    converting them one by one: an item that is not an object or not valid (the caller then
    names it), or a key that may need renaming (any key with an underscore)."""
    if not all(isinstance(item, dict) for item in items):
        return None
    try:
        keys = "".join(chain.from_iterable(cast(list[dict[str, object]], items)))
    except TypeError:  # a key that is not a string: not from JSON, but take the careful path
        return None
    if "_" in keys:
        return None
    try:
        return msgspec.convert(items, list[_RawSession], strict=False)
    except msgspec.ValidationError:
        return None


def _listed(raw: _RawSession) -> ListedSession:
    if not raw.session_id:
        raise InvalidRecord("missing sessionId")
    created = _timestamp(raw.created_at, "createdAt")
    if created is None:
        raise InvalidRecord("missing createdAt")
    return ListedSession(
        session_id=raw.session_id,
        room_name=raw.room_name or "",
        created_at_ns=created,
        ended_at_ns=_timestamp(raw.ended_at, "endedAt"),
        last_active_ns=_timestamp(raw.last_active, "lastActive"),
        bandwidth_in=raw.bandwidth_in or 0,
        bandwidth_out=raw.bandwidth_out or 0,
        egress=raw.egress or 0,
        num_participants=raw.num_participants or 0,
        num_active_participants=raw.num_active_participants or 0,
    )


def parse_details(body: object) -> tuple[SessionDetails, tuple[str, ...]]:
    """A details body, and the problems of participants skipped as invalid records.

    PayloadError if the body is not an object; InvalidRecord if one of its own fields is
    wrong. A malformed participant costs only itself: it is left out of the publisher counts
    and named in the returned problems.
    """
    if not isinstance(body, dict):
        raise PayloadError("session_details: body is not a JSON object")
    raw = _convert(body, _RawDetails)
    publishers = Publishers()
    problems: list[str] = []
    for index, item in enumerate(raw.participants or ()):
        try:
            publishers += _publishing(item, f"participants[{index}]")
        except InvalidRecord as exc:
            problems.append(str(exc))
    return SessionDetails(publishers, raw.bandwidth, raw.connection_minutes), tuple(problems)


def _publishing(item: object, where: str) -> Publishers:
    """What one participant publishes, counted only while it is connected."""
    participant = _convert(item, _RawParticipant, where)
    left = _timestamp(participant.left_at, f"{where}.leftAt")
    connected = left is None or participant.is_active
    if participant.published_sources is None or not connected:
        return Publishers()
    sources = _convert(participant.published_sources, _RawSources, f"{where}.publishedSources")
    return Publishers(
        int(bool(sources.camera_track)),
        int(bool(sources.microphone_track)),
        int(bool(sources.screen_share_track)),
        int(bool(sources.screen_share_audio)),
    )


def _timestamp(text: str | None, field: str) -> int | None:
    if not text:
        return None
    try:
        return parse_timestamp_ns(text)
    except ValueError as exc:
        raise InvalidRecord(f"{exc} at `$.{field}`") from None


def _convert(item: object, kind: type[_T], where: str = "") -> _T:
    if not isinstance(item, dict):
        raise InvalidRecord(f"not an object at `$.{where}`" if where else "not an object")
    try:
        return msgspec.convert(_camel_keys(item), kind, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        raise InvalidRecord(message.replace("`$", f"`$.{where}", 1) if where else message) from None


def _camel_keys(item: dict[object, object]) -> dict[object, object]:
    """Keys in camelCase; a snake_case key is used only when its camelCase twin is absent."""
    snake = [key for key in item if isinstance(key, str) and "_" in key]
    if not snake:
        return item
    out = {key: value for key, value in item.items() if key not in snake}
    for key in snake:
        out.setdefault(_camel(key), item[key])
    return out


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
