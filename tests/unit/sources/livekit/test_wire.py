"""Parsing LiveKit Analytics payloads: every encoding variant, bad records, wrong shapes.

Arbitrary and mutated bodies are in tests/unit/test_parser_properties.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from exporter.errors import PayloadError
from exporter.sources.livekit.wire import (
    InvalidRecord,
    ListedSession,
    Publishers,
    SessionDetails,
    parse_details,
    parse_page,
)
from tests.unit.sources.livekit.fake_api import load

NS = 1_000_000_000


def one(item: object) -> ListedSession:
    """``item`` read on its own, as a page whose other item is not an object reads it."""
    page = parse_page({"sessions": [item, "not an object"]})
    assert page.invalid == 1
    (session,) = page.sessions
    return session


def problem(item: object) -> str:
    """What the page says of ``item``, which must be its one invalid record."""
    page = parse_page({"sessions": [item]})
    assert (page.sessions, page.size, page.invalid) == ((), 1, 1)
    assert page.first_error is not None
    assert page.first_error.startswith("$.sessions[0]: ")
    return page.first_error


def ns(text: str) -> int:
    """Whole-second nanoseconds of an ISO time, computed independently of the parser."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()) * NS


def test_camel_case_list_with_string_ints() -> None:
    """The documented camelCase list parses, string ints included, ended and active alike."""
    page = parse_page(load("list_camel.json"))
    ended, active = page.sessions
    assert (page.size, page.invalid) == (2, 0)
    assert ended == ListedSession(
        session_id="RM_o4qeUZCBDopa",
        room_name="support-call-42",
        created_at_ns=ns("2027-01-15T06:00:00"),
        ended_at_ns=ns("2027-01-15T07:00:00"),
        last_active_ns=ns("2027-01-15T07:00:00"),
        bandwidth_in=1260393,
        bandwidth_out=2500000,
        egress=0,
        num_participants=2,
        num_active_participants=0,
    )
    assert not ended.active
    assert active.active
    assert active.created_at_ns == ns("2027-01-15T07:45:00") + NS // 2
    assert active.bandwidth_out == 9007199254740993  # above 2**53: kept exact as an int
    assert (active.egress, active.num_participants, active.num_active_participants) == (1, 3, 2)


def test_snake_case_list() -> None:
    """The snake_case field names older docs showed parse the same as camelCase."""
    (session,) = parse_page(load("list_snake.json")).sessions
    assert session.session_id == "RM_snake1"
    assert session.room_name == "town-hall"
    assert session.created_at_ns == ns("2027-01-15T07:30:00") + 123_000_000
    assert (session.bandwidth_in, session.bandwidth_out, session.egress) == (4096, 8192, 2)
    assert (session.num_participants, session.num_active_participants) == (5, 4)


def test_numbers_offsets_nanoseconds_and_unknown_fields() -> None:
    """JSON numbers (integral floats too), offsets, 9-digit fractions and unknown fields."""
    (session,) = parse_page(load("list_numbers.json")).sessions
    assert session.room_name == 'Réunion d\'équipe "Q1"'
    assert session.created_at_ns == ns("2027-01-15T07:59:00") + 123_456_789
    assert session.last_active_ns == ns("2027-01-15T07:59:30") + 1_000
    assert (session.bandwidth_in, session.bandwidth_out) == (1260393, 2500000)


def test_omitted_or_null_fields_are_zero_false_or_empty() -> None:
    """Protobuf JSON drops zero values: absent numbers are 0, names empty, no endedAt active;
    null fields and an empty endedAt read as absent too, rather than as invalid."""
    (session,) = parse_page(load("list_omitted.json")).sessions
    nulls = {"roomName": None, "endedAt": "", "egress": None, "numParticipants": None}
    assert one({"sessionId": "RM_quiet", "createdAt": "2027-01-15T07:00:00Z", **nulls}) == session
    assert session == ListedSession(
        session_id="RM_quiet",
        room_name="",
        created_at_ns=ns("2027-01-15T07:00:00"),
        ended_at_ns=None,
        last_active_ns=None,
        bandwidth_in=0,
        bandwidth_out=0,
        egress=0,
        num_participants=0,
        num_active_participants=0,
    )


def test_camel_case_wins_over_its_snake_case_twin() -> None:
    """When both spellings are present the current (camelCase) one is used."""
    item = {"sessionId": "RM_1", "createdAt": "2027-01-15T07:00:00Z"}
    session = one({**item, "bandwidth_in": "1", "bandwidthIn": "2"})
    assert session.bandwidth_in == 2


def test_malformed_records_are_skipped_one_by_one() -> None:
    """Each bad item is counted and named; the good items around them survive."""
    page = parse_page(load("list_malformed.json"))
    assert [s.session_id for s in page.sessions] == ["RM_good1", "RM_good2"]
    assert (page.size, page.invalid) == (8, 6)
    assert page.first_error == (
        "$.sessions[1]: Expected `int | null`, got `str` - at `$.numActiveParticipants`"
    )


def _item(session_id: str, **fields: object) -> dict[str, object]:
    return {"sessionId": session_id, "createdAt": "2027-01-15T07:00:00.5Z", **fields}


def test_a_bad_record_changes_nothing_but_itself() -> None:
    """A page converted in one call (all valid, all camelCase) and the same page with a bad
    record added (read item by item) give the same good sessions."""
    items = [
        _item("RM_a", bandwidthIn="12", lastActive="2027-01-15T07:00:01.123456789Z"),
        _item("RM_b", endedAt="2027-01-15T08:00:00Z", egress=2, numParticipants=3),
    ]
    clean = parse_page({"sessions": items})
    assert clean.sessions == tuple(one(item) for item in items)
    mixed = parse_page({"sessions": [items[0], _item("RM_bad", egress="x"), items[1]]})
    assert mixed.sessions == clean.sessions
    assert (mixed.size, mixed.invalid) == (3, 1)
    assert mixed.first_error is not None
    assert mixed.first_error.startswith("$.sessions[1]: ")


def test_a_page_with_snake_case_keys_is_read_item_by_item() -> None:
    """One snake_case item in a page is renamed like the rest would be, camelCase winning."""
    items = [_item("RM_a", bandwidthIn=1), {**_item("RM_b"), "bandwidth_in": 2, "egress": 1}]
    twin = {**_item("RM_c", bandwidthIn=3), "bandwidth_in": "not a number"}
    page = parse_page({"sessions": [*items, twin]})
    assert [(s.session_id, s.bandwidth_in) for s in page.sessions] == [
        ("RM_a", 1),
        ("RM_b", 2),
        ("RM_c", 3),
    ]
    assert page.invalid == 0


def test_a_key_that_is_not_text_costs_only_its_record() -> None:
    """A key that is not a string (which JSON cannot even carry) makes its record invalid."""
    page = parse_page({"sessions": [_item("RM_a"), {**_item("RM_b"), 1: "one"}]})
    assert [s.session_id for s in page.sessions] == ["RM_a"]
    assert page.first_error == "$.sessions[1]: Expected `str` - at `key` in `$`"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"sessionId": "", "createdAt": "2027-01-15T07:00:00Z"}, "missing sessionId"),
        ({"sessionId": "RM_1"}, "missing createdAt"),
        ({"sessionId": 5, "createdAt": "2027-01-15T07:00:00Z"}, "$.sessionId"),
        ({"sessionId": "RM_1", "createdAt": 1736000000}, "$.createdAt"),
        ({"sessionId": "RM_1", "createdAt": "2027-02-30T07:00:00Z"}, "no such date"),
        ({"sessionId": "RM_1", "createdAt": "2027-01-15T07:00:00Z", "egress": 3}, "$.egress"),
        ({"sessionId": "RM_1", "createdAt": "2027-01-15T07:00:00Z", "bandwidthIn": 1.5}, "$."),
        ([1, 2], "not an object"),
    ],
)
def test_invalid_session_names_the_problem(item: object, message: str) -> None:
    """A record of the wrong shape is skipped, named by where it is wrong, not by values."""
    assert message in problem(item)


@pytest.mark.parametrize(
    "value", [2**63, 10**400, str(2**64)], ids=["2^63", "10^400", "2^64 string"]
)
def test_a_count_beyond_64_bits_is_an_invalid_record(value: object) -> None:
    """int64 is LiveKit's widest count; a larger one (which a float could not even hold)
    makes its record invalid instead of reaching the exposition."""
    item = {"sessionId": "RM_1", "createdAt": "2027-01-15T07:00:00Z", "bandwidthIn": value}
    assert "at `$.bandwidthIn`" in problem(item)
    largest = one({**item, "bandwidthIn": 2**63 - 1, "numParticipants": str(2**63 - 1)})
    assert (largest.bandwidth_in, largest.num_participants) == (2**63 - 1, 2**63 - 1)
    with pytest.raises(InvalidRecord, match=r"at `\$\.bandwidth`"):
        parse_details({"bandwidth": 10**400})


@pytest.mark.parametrize(
    ("body", "path"),
    [([], "$"), ("sessions", "$"), (None, "$"), ({"sessions": {"a": 1}}, "$.sessions")],
)
def test_wrong_top_level_shape_is_a_payload_error(body: object, path: str) -> None:
    """A list body that is not an object with a sessions array fails the whole poll."""
    with pytest.raises(PayloadError) as caught:
        parse_page(body)
    assert caught.value.path == path


@pytest.mark.parametrize("body", [{}, {"sessions": None}, {"sessions": []}])
def test_missing_or_empty_sessions_means_none(body: object) -> None:
    """No sessions key, null or an empty array: a valid, empty page."""
    page = parse_page(body)
    assert (page.sessions, page.size, page.invalid) == ((), 0, 0)


def test_details_camel_case_counts_connected_publishers() -> None:
    """Publishers count connected participants (no leftAt, or isActive) by source."""
    details, problems = parse_details(load("details_camel.json"))
    assert problems == ()
    # alice (camera, mic), bob (mic, screen, screen audio), dave (left but isActive: camera);
    # carol has left and is not counted
    assert details == SessionDetails(
        publishers=Publishers(camera=2, microphone=2, screen_share=1, screen_share_audio=1),
        billable_bandwidth=1000,
        connection_minutes=120.0,
    )


def test_details_snake_case_and_numbers() -> None:
    """snake_case details with JSON numbers parse like the camelCase ones."""
    details, _ = parse_details(load("details_snake.json"))
    assert details == SessionDetails(Publishers(camera=1, screen_share=1), 4096, 3.0)


def test_details_without_optional_fields() -> None:
    """No participants, bandwidth or connectionMinutes: zero publishers, fields unknown."""
    assert parse_details(load("details_minimal.json")) == (
        SessionDetails(Publishers(), None, None),
        (),
    )


def test_malformed_participants_are_skipped_one_by_one() -> None:
    """Each participant of the wrong shape is left out and named; the good ones count."""
    details, problems = parse_details(load("details_malformed.json"))
    assert details == SessionDetails(Publishers(camera=1, microphone=1), None, None)
    assert problems == (
        "Expected `bool | null`, got `str` - at `$.participants[1].publishedSources.cameraTrack`",
        "Expected `object | null`, got `str` - at `$.participants[2].publishedSources`",
        "not an object at `$.participants[3]`",
        "not an RFC 3339 timestamp at `$.participants[4].leftAt`",
    )


@pytest.mark.parametrize(
    "body",
    [{"participants": "nobody"}, {"bandwidth": "lots"}, {"connectionMinutes": -1}],
)
def test_details_with_a_bad_field_of_their_own_are_one_invalid_record(body: object) -> None:
    """A details body whose own fields are wrong is one invalid record."""
    with pytest.raises(InvalidRecord):
        parse_details(body)


def test_details_that_are_not_an_object_fail_the_poll() -> None:
    """A details body that is not a JSON object is an invalid response."""
    with pytest.raises(PayloadError):
        parse_details(["RM_1"])
