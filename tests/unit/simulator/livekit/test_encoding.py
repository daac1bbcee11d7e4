"""LiveKit's JSON encoding carries the truth exactly, in every upstream variant."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from exporter.simulator import FakeClock
from exporter.simulator.livekit.encoding import (
    INT64_FIELDS,
    LiveKitStyle,
    encode_details,
    encode_list_item,
    format_timestamp,
    livekit_style,
    snake_case,
)
from exporter.simulator.livekit.model import NS
from exporter.simulator.livekit.world import LiveKitWorld

RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z")


def parse_ns(text: str) -> int:
    """Exact nanoseconds of an RFC 3339 ``...Z`` timestamp."""
    whole, _, fraction = text.rstrip("Z").partition(".")
    seconds = dt.datetime.fromisoformat(whole).replace(tzinfo=dt.UTC).timestamp()
    return int(seconds) * NS + int((fraction or "0").ljust(9, "0"))


@pytest.mark.parametrize("digits", range(10))
@pytest.mark.parametrize("ns", [1_768_478_400 * NS, 1_768_478_400 * NS + 123_456_789, 5 * NS + 500])
def test_timestamps_round_trip_exactly_with_any_number_of_digits(ns: int, digits: int) -> None:
    """RFC 3339 with ``Z`` and at least the asked digits, never losing a nanosecond."""
    text = format_timestamp(ns, digits)
    assert RFC3339.fullmatch(text)
    assert parse_ns(text) == ns
    assert len(text.rstrip("Z").partition(".")[2]) >= digits


def livekit_world(seed: int = 2) -> LiveKitWorld:
    return LiveKitWorld(seed=seed, rooms=150, clock=FakeClock(), active_fraction=0.8)


def test_list_items_carry_the_truth_in_protobuf_json() -> None:
    """Every list item decodes back to its truth; zero fields are left out."""
    for truth in livekit_world().sessions():
        style = livekit_style(2, truth.session_id)
        item = encode_list_item(truth, style)
        assert item["sessionId"] == truth.session_id
        assert parse_ns(str(item["createdAt"])) == truth.created_at_ns
        assert parse_ns(str(item["lastActive"])) == truth.last_active_ns
        assert ("endedAt" in item) == (not truth.active)
        for key, value in (
            ("bandwidthIn", truth.bandwidth_in),
            ("bandwidthOut", truth.bandwidth_out),
        ):
            if value:
                encoded = item[key]
                assert isinstance(encoded, str if key in style.string_fields else int)
                assert int(str(encoded)) == value
            else:
                assert key not in item
        assert item.get("egress", 0) == truth.egress
        assert item.get("numActiveParticipants", 0) == truth.num_active_participants
        assert 0 not in item.values()
        assert "" not in item.values()
        assert False not in item.values()


def test_details_carry_participants_and_billing_fields() -> None:
    """Details decode back to participants, sources, bandwidth and connection minutes."""
    for truth in livekit_world().sessions()[:60]:
        style = livekit_style(2, truth.session_id)
        body = encode_details(truth, style)
        assert body["roomId"] == truth.session_id
        assert body.get("status", 0) == (1 if truth.active else 0)
        assert int(str(body.get("bandwidth", 0))) == truth.billable_bandwidth
        assert int(str(body.get("connectionMinutes", 0))) == truth.connection_minutes
        participants = body.get("participants", [])
        assert isinstance(participants, list)
        assert len(participants) == truth.num_participants
        for encoded, p in zip(participants, truth.participants, strict=True):
            assert encoded["participantIdentity"] == p.identity
            assert ("leftAt" in encoded) == (p.left_at_ns is not None)
            assert encoded.get("isActive", False) is p.is_active
            sources = encoded.get("publishedSources", {})
            assert sources.get("cameraTrack", False) is p.published.camera
            assert sources.get("screenShareAudio", False) is p.published.screen_share_audio
            assert len(encoded["sessions"]) == len(p.connections)


def test_styles_vary_per_record_and_are_deterministic() -> None:
    """Across records, ints come as strings and as numbers; the choice is fixed per seed."""
    styles = [livekit_style(3, f"RM_{i}") for i in range(300)]
    assert styles == [livekit_style(3, f"RM_{i}") for i in range(300)]
    for field in INT64_FIELDS:
        assert {field in s.string_fields for s in styles} == {True, False}
    assert {s.min_fraction_digits for s in styles} == set(range(10))
    assert {s.extra_field for s in styles} == {True, False}


def test_snake_case_variant_renames_every_key() -> None:
    """The snake_case switch rewrites nested keys and keeps values."""
    truth = livekit_world().active_sessions()[0]
    style = LiveKitStyle(frozenset(), 0, extra_field=False)
    body = snake_case(encode_details(truth, style))
    assert body["room_id"] == truth.session_id
    participants = body["participants"]
    assert isinstance(participants, list)
    assert "participant_identity" in participants[0]
