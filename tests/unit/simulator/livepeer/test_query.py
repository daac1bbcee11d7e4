"""``GET /session`` query parsing, order and next links, as Studio does them."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from exporter.simulator import FakeClock
from exporter.simulator.livepeer.query import (
    DEFAULT_ORDER,
    QueryError,
    next_link,
    parse_session_query,
)
from exporter.simulator.livepeer.truth import LivepeerSessionTruth
from exporter.simulator.livepeer.world import LivepeerWorld


def sessions() -> list[LivepeerSessionTruth]:
    world = LivepeerWorld(seed=8, streams=120, clock=FakeClock(), active_fraction=0.8)
    return world.sessions()


def filters(value: object) -> str:
    return json.dumps(value)


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


def test_order_entries_are_parsed_and_unusable_ones_dropped() -> None:
    """``order`` keeps known ``field-true|false`` entries; none usable gives no order."""
    assert parse_session_query(b"").order == DEFAULT_ORDER
    assert parse_session_query(b"order=createdAt-false,bogus-true,x").order == (
        ("createdAt", False),
    )
    assert parse_session_query(b"order=bogus").order is None


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


def test_parent_id_parameter_filters_by_stream() -> None:
    """``parentId`` in the query keeps only that stream's sessions."""
    target = sessions()[7]
    query = parse_session_query(f"parentId={target.parent_id}".encode())
    assert [s for s in sessions() if all(p(s) for p in query.filters)] == [target]
