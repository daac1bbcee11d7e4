"""Parsing Studio's ``GET /session`` pages: every encoding variant, leniency, and safety."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.errors import PayloadError
from exporter.sources.livepeer.wire import LivepeerSession, parse_page
from tests.unit.sources.livepeer.fake_studio import PROJECT, fixture_bytes, wire


def by_id(name: str) -> dict[str, LivepeerSession]:
    page = parse_page(fixture_bytes(name))
    return {s.id: s for s in page.sessions}


def test_seed_example_parses_with_placeholders_as_unknown() -> None:
    """The seed's docs example parses; its "<unknown>" isHealthy and issues read as unknown/0."""
    page = parse_page(fixture_bytes("seed_example.json"))
    assert page.invalid == 0
    (s,) = page.sessions
    assert s == LivepeerSession(
        id="de7818e7-610a-4057-8f6f-b785dc1e6f88",
        project=PROJECT,
        stream_id="de7818e7-610a-4057-8f6f-b785dc1e6f88",
        stream_name="",
        playback_id="eaw4nk06ts2d0mzb",
        created_at_ms=1587667174725,
        last_seen_ms=1587667174725,
        healthy=None,
        issues=0,
        ingest_rate=1,
        outgoing_rate=2,
        source_bytes=1,
        transcoded_bytes=2,
        source_segments=1,
        transcoded_segments=2,
        source_duration=1,
        transcoded_duration=2,
        record=False,
        recording_status="waiting",
    )


def test_research_example_maps_every_field_it_needs() -> None:
    """A live unhealthy session and an ended recorded one map field for field."""
    sessions = by_id("two_sessions.json")
    live = sessions["4b9e2c1a-7d3f-4e8a-9c55-0f1e2d3c4b5a"]
    assert (live.healthy, live.issues, live.record, live.recording_status) == (
        False,
        1,
        False,
        None,
    )
    assert (live.ingest_rate, live.outgoing_rate) == (446877.3, 1225901.3)
    assert (live.source_duration, live.transcoded_duration) == (48.0, 192.0)
    assert (live.stream_id, live.stream_name) == (
        "de7818e7-610a-4057-8f6f-b785dc1e6f88",
        "church-sunday-live",
    )
    ended = sessions["9f0a8b7c-6d5e-4f3a-8b2c-1d0e9f8a7b6c"]
    assert (ended.healthy, ended.issues, ended.record) == (None, 0, True)
    assert (ended.recording_status, ended.recording_state) == ("ready", "ready")
    assert ended.transcoded_bytes == 4402341478


def test_parent_stream_yields_only_its_name() -> None:
    """Nothing of parentStream but its name survives parsing: the stream key is not kept."""
    for name in ("two_sessions.json", "openapi_all_fields.json", "nulls_and_absent.json"):
        page = parse_page(fixture_bytes(name))
        assert "FIXTURE-STREAM-KEY" in fixture_bytes(name).decode()
        assert "STREAM-KEY" not in repr(page)
        assert "PULL-TOKEN" not in repr(page)
    fields = {f.name for f in msgspec.structs.fields(LivepeerSession)}
    assert not {"parent_stream", "parentStream", "stream_key"} & fields


def test_every_openapi_field_and_unknown_extras_are_accepted() -> None:
    """A session with every schema field, legacy extras and a rich parentStream parses."""
    page = parse_page(fixture_bytes("openapi_all_fields.json"))
    assert page.invalid == 0
    (s,) = page.sessions
    assert s.stream_name == 'Übertragung "main" \\ stage\nline 2 カメラ'
    assert (s.healthy, s.issues, s.record, s.recording_status) == (True, 0, True, "waiting")
    assert (s.transcoded_bytes, s.outgoing_rate, s.source_duration) == (
        180000000.5,
        600000.25,
        300.5,
    )
    assert (s.created_at_ms, s.last_seen_ms) == (1759999755000, 1760000055000)


def test_ints_and_floats_are_both_numbers() -> None:
    """Integer and float encodings of every numeric field give the same kind of value."""
    sessions = by_id("numbers.json")
    ints, floats = sessions["int-fields"], sessions["float-fields"]
    assert ints.source_bytes == 9007199254740992.0  # 2**53 + 1 rounds to a float
    assert (ints.ingest_rate, ints.source_duration, ints.healthy) == (500.0, 20.0, True)
    assert (floats.ingest_rate, floats.source_bytes, floats.created_at_ms) == (
        500.5,
        1.5e9,
        1.76e12,
    )
    assert (floats.last_seen_ms, floats.healthy, floats.issues) == (1760000050000.5, False, 2)
    assert all(isinstance(v, float) for v in (ints.source_segments, floats.source_segments))


def test_nulls_and_absent_fields_take_neutral_values() -> None:
    """Null or absent fields read as "", 0, unknown health, not recorded, no status."""
    sessions = by_id("nulls_and_absent.json")
    for sid in ("all-null", "only-id"):
        s = sessions[sid]
        assert (s.project, s.stream_id, s.stream_name, s.playback_id) == ("", "", "", "")
        assert (s.created_at_ms, s.last_seen_ms, s.healthy, s.issues) == (None, 0.0, None, 0)
        assert (s.ingest_rate, s.source_bytes, s.transcoded_duration) == (0.0, 0.0, 0.0)
        assert (s.record, s.recording_status) == (False, None)
    assert sessions["never-streamed"].last_seen_ms == 0
    assert sessions["never-streamed"].stream_name == ""
    odd = sessions["recorded-without-status"]
    assert (odd.stream_name, odd.recording_status, odd.recording_state) == ("", None, "waiting")


def test_malformed_records_are_skipped_and_counted() -> None:
    """Each record of the wrong shape costs only itself; the good ones survive."""
    page = parse_page(fixture_bytes("malformed.json"))
    assert [s.id for s in page.sessions] == ["good-1", "good-2"]
    assert page.invalid == 13
    good = page.sessions[1]
    assert good.stream_name == ""  # a parentStream that is not an object
    assert good.recording_status == "waiting"  # an unknown status, as Studio would report it


GOOD_ITEMS = [wire("a", issues=["x", "y"]), wire("b", recordingStatus="ready", record=True)]


@pytest.mark.parametrize(
    "bad",
    [b'{"id": 5}', b'{"lastSeen": 1}', b'{"id": ""}', b'"session"', b'{"id": "\xff"}'],
    ids=["wrong type", "no id", "empty id", "not an object", "not UTF-8"],
)
def test_a_bad_record_changes_nothing_but_itself(bad: bytes) -> None:
    """A page decoded in one call, and the same page with a bad record added (which most
    bad records send item by item), give the same good sessions; the bad one is counted."""
    first, second = (json.dumps(item).encode() for item in GOOD_ITEMS)
    clean = parse_page(b"[" + first + b"," + second + b"]")
    assert (len(clean.sessions), clean.invalid) == (2, 0)
    assert [s.stream_name for s in clean.sessions] == ["name-a", "name-b"]
    mixed = parse_page(b"[" + first + b"," + bad + b"," + second + b"]")
    assert (mixed.sessions, mixed.invalid) == (clean.sessions, 1)


def test_an_odd_parent_stream_costs_only_the_stream_name() -> None:
    """A parentStream that is not an object sends the page item by item, where its record
    is kept without a stream name and the other records are as before."""
    clean = parse_page(json.dumps(GOOD_ITEMS).encode())
    odd = wire("odd", parentStream=["not", "an", "object"])
    mixed = parse_page(json.dumps([GOOD_ITEMS[0], odd, GOOD_ITEMS[1]]).encode())
    assert mixed.invalid == 0
    assert (mixed.sessions[0], mixed.sessions[2]) == clean.sessions
    assert (mixed.sessions[1].id, mixed.sessions[1].stream_name) == ("odd", "")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (fixture_bytes("not_a_list.json"), "expected a JSON array of sessions"),
        (b'{"errors": ["not found"]}', "expected a JSON array of sessions"),
        (b"null", "expected a JSON array of sessions"),
        (b'"[]"', "expected a JSON array of sessions"),
        (b"", "body is not valid JSON"),
        (b"[{]", "body is not valid JSON"),
        (b"[] trailing", "body is not valid JSON"),
        (b"\xff\xfe", "body is not valid JSON"),
    ],
)
def test_wrong_top_level_is_a_payload_error(body: bytes, message: str) -> None:
    """A body that is not a JSON array fails the poll as invalid_response, naming why."""
    with pytest.raises(PayloadError, match=message) as info:
        parse_page(body)
    assert info.value.reason == "invalid_response"


def test_a_field_that_is_not_utf8_costs_only_its_record() -> None:
    """Invalid UTF-8 in a field read makes that record invalid (in parentStream, its name
    unknown); it never escapes as a UnicodeDecodeError."""
    body = (
        b'[{"id": "bad\xff"}, {"id": "odd", "parentStream": {"name": "\xc3("}},'
        b' {"id": "good", "parentStream": {"name": "ok"}}]'
    )
    page = parse_page(body)
    assert page.invalid == 1
    assert [(s.id, s.stream_name) for s in page.sessions] == [("odd", ""), ("good", "ok")]


@pytest.mark.parametrize(
    "field",
    [
        "sourceBytes",
        "transcodedBytes",
        "sourceSegments",
        "transcodedSegments",
        "sourceSegmentsDuration",
        "transcodedSegmentsDuration",
    ],
)
def test_a_negative_running_total_costs_only_its_record(field: str) -> None:
    """A negative cumulative field would be a negative counter, which OpenMetrics rejects
    for the whole exposition: that record is invalid, the others are kept."""
    page = parse_page(json.dumps([wire("bad", **{field: -1}), *GOOD_ITEMS]).encode())
    assert page.invalid == 1
    assert page.sessions == parse_page(json.dumps(GOOD_ITEMS).encode()).sessions


def test_empty_page_has_no_sessions() -> None:
    """``[]`` is a valid, empty page."""
    assert parse_page(b"[]").sessions == ()
    assert parse_page(b" [ ] ").invalid == 0


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
_FIELDS = st.sampled_from(
    ["id", "lastSeen", "createdAt", "isHealthy", "issues", "record", "recordingStatus",
     "parentStream", "projectId", "ingestRate", "sourceBytes", "parentId", "playbackId"]
)  # fmt: skip


@given(st.lists(st.dictionaries(_FIELDS, _JSON, max_size=8) | _JSON, max_size=6))
def test_any_json_array_parses_or_skips_records(items: list[Any]) -> None:
    """Any JSON array gives sessions plus an invalid count that add up to its length."""
    page = parse_page(json.dumps(items).encode())
    assert len(page.sessions) + page.invalid == len(items)


@given(st.binary(max_size=64) | _JSON.map(lambda v: json.dumps(v).encode()))
def test_any_body_raises_nothing_but_payload_error(body: bytes) -> None:
    """Whatever the body, parsing either succeeds or raises PayloadError."""
    with contextlib.suppress(PayloadError):
        parse_page(body)
