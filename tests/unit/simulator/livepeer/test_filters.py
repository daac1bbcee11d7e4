"""Studio's ``filters`` and ``order`` over sessions: comparisons, errors, ILIKE, sorting."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import quote

import pytest

from exporter.simulator import FakeClock
from exporter.simulator.livepeer.filters import QueryError, parse_filters, sort_sessions
from exporter.simulator.livepeer.truth import LivepeerSessionTruth
from exporter.simulator.livepeer.world import LivepeerWorld


def sessions() -> list[LivepeerSessionTruth]:
    world = LivepeerWorld(seed=8, streams=120, clock=FakeClock(), active_fraction=0.8)
    return world.sessions()


def filters(value: object) -> str:
    return json.dumps(value)


def select(spec: object) -> list[LivepeerSessionTruth]:
    predicates = parse_filters(filters(spec))
    return [s for s in sessions() if all(p(s) for p in predicates)]


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


def test_sorting_by_other_fields() -> None:
    """Non-default orders sort by the named fields in the named directions."""
    ordered = sort_sessions(sessions(), (("sourceBytes", False),))
    values = [s.source_bytes for s in ordered]
    assert values == sorted(values)
    newest = sort_sessions(sessions(), (("createdAt", True),))
    assert [s.created_at for s in newest] == sorted((s.created_at for s in newest), reverse=True)
