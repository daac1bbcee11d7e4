"""Livepeer Studio ``GET /session`` pages → immutable :class:`LivepeerSession` records.

A page is decoded in one typed msgspec call. Only if that fails is it decoded again item by
item, so one malformed record costs only itself (the caller counts it as skipped) and a body
that is not an array at all is told apart from it. Decoding is lenient where Studio is loose:
numbers may be ints or floats, any field may be null or absent, unknown fields are ignored, and
``isHealthy``/``issues`` (typed ``any`` in the published docs) fall back to "unknown" and 0
when they hold something unexpected. Only ``id`` is required.

Every list item carries an undocumented ``parentStream`` object, the raw parent-stream record,
which may hold its ``streamKey``. It is decoded into a struct with the single field ``name``, so
nothing else of it ever becomes a Python value (on the item-by-item path, via raw bytes that
are dropped at once).
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

import msgspec

from exporter.errors import PayloadError
from exporter.sources.base import Page

_Cumulative = Annotated[float, msgspec.Meta(ge=0)]
"""A running total exported as a counter: a negative one is not a Studio value, and the
OpenMetrics parser would reject the whole exposition over it, so its record is invalid."""

__all__ = [
    "RECORDING_STATUSES",
    "LivepeerSession",
    "RecordingStatus",
    "parse_page",
]

RecordingStatus = Literal["waiting", "ready", "failed", "deleted", "none"]
RECORDING_STATUSES: Final[tuple[RecordingStatus, ...]] = (
    "waiting",
    "ready",
    "failed",
    "deleted",
    "none",
)
"""Every value of the ``status`` label of the recording state set, in the contract's order."""
_ENDPOINT: Final = "list_sessions"


class LivepeerSession(msgspec.Struct, frozen=True, gc=False):
    """One Studio stream session, as the metrics need it; times in ms, as upstream sends.

    A frozen msgspec struct, untracked by the garbage collector, for the reasons LiveKit's
    ``ListedSession`` is one: it is built ten thousand times a poll and holds only scalars.
    """

    id: str
    project: str
    """``projectId``, or "" when the payload has none."""
    stream_id: str
    """``parentId``, or ""."""
    stream_name: str
    """``parentStream.name``, or ""."""
    playback_id: str
    created_at_ms: float | None
    last_seen_ms: float
    """0 until the session's first update."""
    healthy: bool | None
    """None when ``isHealthy`` is null, absent, or not a boolean."""
    issues: int
    ingest_rate: float
    outgoing_rate: float
    source_bytes: float
    transcoded_bytes: float
    source_segments: float
    transcoded_segments: float
    source_duration: float
    transcoded_duration: float
    record: bool
    recording_status: RecordingStatus | None
    """As sent (unknown values as ``waiting``), or None when upstream sent none."""

    @property
    def recording_state(self) -> RecordingStatus:
        """The recording state exported: a recorded session without a status is ``waiting``."""
        return self.recording_status or "waiting"


class _ParentStream(msgspec.Struct, gc=False):
    """All that is read of ``parentStream`` (untracked by the GC, as :class:`_Fields`)."""

    name: object = None


class _Fields(msgspec.Struct, rename="camel", gc=False):
    """The fields read from a list item; everything else is skipped by the decoder.

    Not tracked by the garbage collector: decoded JSON holds no reference cycles.
    """

    id: str
    project_id: str | None = None
    parent_id: str | None = None
    playback_id: str | None = None
    created_at: float | None = None
    last_seen: float | None = None
    is_healthy: object = None
    issues: object = None
    ingest_rate: float | None = None
    outgoing_rate: float | None = None
    source_bytes: _Cumulative | None = None
    transcoded_bytes: _Cumulative | None = None
    source_segments: _Cumulative | None = None
    transcoded_segments: _Cumulative | None = None
    source_segments_duration: _Cumulative | None = None
    transcoded_segments_duration: _Cumulative | None = None
    record: bool | None = None
    recording_status: str | None = None


class _Item(_Fields):
    """A list item on the fast path: a ``parentStream`` that is not an object (or null) fails
    the page's one-call decode, and the page is then read item by item."""

    parent_stream: _ParentStream | None = None


class _Wire(_Fields):
    """A list item on the item-by-item path: ``parentStream`` kept as raw bytes, so a bad one
    costs only the stream name, not the record."""

    parent_stream: msgspec.Raw = msgspec.Raw(b"null")


_PAGE: Final = msgspec.json.Decoder(list[_Item])
_ITEMS: Final = msgspec.json.Decoder(list[msgspec.Raw])
_ITEM: Final = msgspec.json.Decoder(_Wire)
_PARENT: Final = msgspec.json.Decoder(_ParentStream | None)
_STATUSES: Final[dict[str, RecordingStatus]] = {status: status for status in RECORDING_STATUSES}


def parse_page(body: bytes) -> Page[LivepeerSession]:
    """Decode one page; raise PayloadError when the body is not JSON or not an array."""
    try:
        items = _PAGE.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):
        # a malformed record (it costs only itself), or not an array of records at all
        return _parse_items(body)
    sessions: list[LivepeerSession] = []
    invalid = 0
    for item in items:
        session = _session(item, _name(item.parent_stream))
        if session is None:
            invalid += 1
        else:
            sessions.append(session)
    return Page(tuple(sessions), len(items), invalid)


def _parse_items(body: bytes) -> Page[LivepeerSession]:
    """The page decoded item by item: what :func:`parse_page` gives, for any body."""
    try:
        items = _ITEMS.decode(body)
    except msgspec.ValidationError:
        raise PayloadError(f"{_ENDPOINT}: expected a JSON array of sessions") from None
    except (msgspec.DecodeError, UnicodeDecodeError):  # JSON is UTF-8 (RFC 8259)
        raise PayloadError(f"{_ENDPOINT}: body is not valid JSON") from None
    sessions: list[LivepeerSession] = []
    invalid = 0
    for raw in items:
        session = _decode_item(raw)
        if session is None:
            invalid += 1
        else:
            sessions.append(session)
    return Page(tuple(sessions), len(items), invalid)


def _decode_item(raw: msgspec.Raw) -> LivepeerSession | None:
    try:
        wire = _ITEM.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError):
        # a wrong type, a missing id, or a field read that is not UTF-8 text
        return None
    return _session(wire, _stream_name(wire.parent_stream))


def _session(wire: _Fields, stream_name: str) -> LivepeerSession | None:
    if not wire.id:
        return None
    healthy = wire.is_healthy if isinstance(wire.is_healthy, bool) else None
    return LivepeerSession(
        id=wire.id,
        project=wire.project_id or "",
        stream_id=wire.parent_id or "",
        stream_name=stream_name,
        playback_id=wire.playback_id or "",
        created_at_ms=wire.created_at,
        last_seen_ms=wire.last_seen or 0.0,
        healthy=healthy,
        issues=len(wire.issues) if isinstance(wire.issues, list) else 0,
        ingest_rate=wire.ingest_rate or 0.0,
        outgoing_rate=wire.outgoing_rate or 0.0,
        source_bytes=wire.source_bytes or 0.0,
        transcoded_bytes=wire.transcoded_bytes or 0.0,
        source_segments=wire.source_segments or 0.0,
        transcoded_segments=wire.transcoded_segments or 0.0,
        source_duration=wire.source_segments_duration or 0.0,
        transcoded_duration=wire.transcoded_segments_duration or 0.0,
        record=bool(wire.record),
        recording_status=_recording_status(wire.recording_status),
    )


def _stream_name(raw: msgspec.Raw) -> str:
    """The parent stream's ``name``; "" when the object is missing or odd (it is undocumented)."""
    try:
        parent = _PARENT.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return ""
    return _name(parent)


def _name(parent: _ParentStream | None) -> str:
    if parent is None or not isinstance(parent.name, str):
        return ""
    return parent.name


def _recording_status(value: str | None) -> RecordingStatus | None:
    """Known statuses as sent; an unknown one as ``waiting``, which is what Studio itself
    reports for any recording phase other than ready, failed and deleted."""
    if value is None:
        return None
    return _STATUSES.get(value, "waiting")
