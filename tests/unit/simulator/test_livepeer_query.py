"""``GET /session`` query parsing, filters, order and next links, as Studio does them."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from exporter.simulator import FakeClock
from exporter.simulator.livepeer_filters import QueryError, parse_filters, sort_sessions
from exporter.simulator.livepeer_query import (
    DEFAULT_ORDER,
    next_link,
    parse_session_query,
)
from exporter.simulator.livepeer_truth import LivepeerSessionTruth
from exporter.simulator.livepeer_world import LivepeerWorld


def sessions() -> list[LivepeerSessionTruth]:
    world = LivepeerWorld(seed=8, streams=120, clock=FakeClock(), active_fraction=0.8)
    return world.sessions()


def filters(value: object) -> str:
    return json.dumps(value)


def select(spec: object) -> list[LivepeerSessionTruth]:
    predicates = parse_filters(filters(spec))
    return [s for s in sessions() if all(p(s) for p in predicates)]


@pytest.mark.parametrize(
    ("query", "limit"),
    [(b"", 20), (b"limit=0", 20), (b"limit=-4", 20), (b"limit=abc", 20), (b"limit=12abc", 12),
     (b"limit=5000", 1000), (b"limit=1000", 1000), (b"limit=7&limit=9", 7)],
)  # fmt: skip
def test_limit_reads_like_parse_int_with_default_20_and_max_1000(query: bytes, limit: int) -> None:
    """``limit`` follows Studio: default 20, bad or < 1 gives 20, capped at 1000."""
    assert parse_session_query(query).limit == limit


def test_cursor_is_an_offset_and_other_cursors_are_refused() -> None:
    """``skip<N>`` cursors are offsets; anything else is a 400."""
    assert parse_session_query(b"cursor=skip300").offset == 300
    with pytest.raises(QueryError) as caught:
        parse_session_query(b"cursor=abc")
    assert caught.value.status == 400


def test_project_id_parameter_is_refused_for_api_keys() -> None:
    """``projectId`` in the query is a 400, as for any API key upstream."""
    with pytest.raises(QueryError, match="projectId as query param not supported"):
        parse_session_query(b"projectId=x")


@pytest.mark.parametrize("op", ["gt", "gte", "lt", "lte"])
def test_numeric_comparisons_select_the_right_sessions(op: str) -> None:
    """``gt``/``gte``/``lt``/``lte`` on ``lastSeen`` keep exactly the matching sessions."""
    pivot = sorted(s.last_seen for s in sessions())[60]
    chosen = select([{"id": "lastSeen", "value": {op: pivot}}])
    compare: dict[str, Callable[[int], bool]] = {
        "gt": lambda v: v > pivot,
        "gte": lambda v: v >= pivot,
        "lt": lambda v: v < pivot,
        "lte": lambda v: v <= pivot,
    }
    assert chosen == [s for s in sessions() if compare[op](s.last_seen)]
    assert 0 < len(chosen) < len(sessions())


def test_eq_is_broken_as_upstream() -> None:
    """``eq`` falls through to Studio's error branch: a 400 naming the comparison."""
    with pytest.raises(QueryError) as caught:
        parse_filters(filters([{"id": "lastSeen", "value": {"gt": 1, "eq": 5}}]))
    assert caught.value.status == 400
    assert caught.value.message == 'error parsing filters: Error: unknown comparison: "eq"'


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([{"id": "lastSeen"}], 'Error: missing filter value for id "lastSeen"'),
        ([{"id": "nope", "value": 1}], 'Error: unknown field: "nope"'),
        ([{"id": "record", "value": "yes"}], 'expected boolean value for field "record"'),
        ([5], "TypeError: Cannot use 'in' operator"),
        ([None], "TypeError: Cannot read properties of null"),
    ],
)
def test_malformed_filters_are_400s_with_studios_messages(value: object, message: str) -> None:
    """Bad filters give 400 with ``error parsing filters: …`` messages."""
    with pytest.raises(QueryError) as caught:
        parse_filters(filters(value))
    assert caught.value.status == 400
    assert caught.value.message.startswith("error parsing filters: ")
    assert message in caught.value.message


@pytest.mark.parametrize("text", ["{not json", "NaN", '{"id": 1}', "%E0%A4%A"])
def test_unparsable_filters_are_400s(text: str) -> None:
    """Text that ``JSON.parse`` or ``decodeURIComponent`` rejects, or a non-array, is a 400."""
    with pytest.raises(QueryError) as caught:
        parse_filters(text)
    assert caught.value.status == 400


def test_filters_are_url_decoded_a_second_time() -> None:
    """Studio decodes ``filters`` again after Express did: a doubly encoded value works."""
    spec = filters([{"id": "record", "value": True}])
    assert len(parse_filters(quote(spec))) == 1


def test_equality_text_and_boolean_filters() -> None:
    """Plain values filter by equality; ``name`` is a case-insensitive substring match."""
    target = sessions()[3]
    assert select([{"id": "id", "value": target.id}]) == [target]
    assert all(s.record for s in select([{"id": "record", "value": True}]))
    part = target.name.split("+")[1][:6].upper()
    assert target in select([{"id": "name", "value": part}])
    assert select([{"id": "recordingStatus", "value": 1}]) == []  # computed, never stored


def test_order_entries_are_parsed_and_unusable_ones_dropped() -> None:
    """``order`` keeps known ``field-true|false`` entries; none usable gives no order."""
    assert parse_session_query(b"").order == DEFAULT_ORDER
    assert parse_session_query(b"order=createdAt-false,bogus-true,x").order == (
        ("createdAt", False),
    )
    assert parse_session_query(b"order=bogus").order is None


def test_sorting_by_other_fields() -> None:
    """Non-default orders sort by the named fields in the named directions."""
    ordered = sort_sessions(sessions(), (("sourceBytes", False),))
    values = [s.source_bytes for s in ordered]
    assert values == sorted(values)
    newest = sort_sessions(sessions(), (("createdAt", True),))
    assert [s.created_at for s in newest] == sorted((s.created_at for s in newest), reverse=True)


def test_next_link_copies_the_request_on_another_origin() -> None:
    """The link keeps every parameter, replaces the cursor and uses Studio's own origin."""
    spec = filters([{"id": "lastSeen", "value": {"gt": 5}}])
    query = f"limit=2&filters={quote(spec)}&cursor=skip2&order=createdAt-true".encode()
    link = next_link("http://studio-api.internal:3004", b"/api/session", query, "skip4")
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "http",
        "studio-api.internal:3004",
        "/api/session",
    )
    params = parse_qs(parts.query)
    assert params == {
        "limit": ["2"], "filters": [spec], "cursor": ["skip4"], "order": ["createdAt-true"]
    }  # fmt: skip
    assert (
        next_link("http://h", b"/api/session/", b"", "skip20")
        == "http://h/api/session/?cursor=skip20"
    )


def test_plain_values_numbers_and_nulls() -> None:
    """A plain number means equality, a null bound selects nothing, text bounds are a 500."""
    target = sessions()[5]
    assert target in select([{"id": "createdAt", "value": target.created_at}])
    assert select([{"id": "sourceBytes", "value": {"gt": None}}]) == []
    assert select([{"id": "projectId", "value": None}]) == []
    assert select([{"id": "projectId", "value": {"gt": 1}}]) == []
    with pytest.raises(QueryError) as caught:
        parse_filters(filters([{"id": "lastSeen", "value": {"gt": "recently"}}]))
    assert caught.value.status == 500


def test_ilike_wildcards_and_escapes() -> None:
    """``name`` filters are ILIKE patterns: ``_`` is one character, ``\\`` escapes it."""
    name = sessions()[0].name  # "video+<playbackId>"
    assert sessions()[0] in select([{"id": "name", "value": "VIDEO_"}])
    assert select([{"id": "name", "value": "video\\_"}]) == []
    assert sessions()[0] in select([{"id": "name", "value": name[-3:]}])


def test_parent_id_parameter_filters_by_stream() -> None:
    """``parentId`` in the query keeps only that stream's sessions."""
    target = sessions()[7]
    query = parse_session_query(f"parentId={target.parent_id}".encode())
    assert [s for s in sessions() if all(p(s) for p in query.filters)] == [target]
