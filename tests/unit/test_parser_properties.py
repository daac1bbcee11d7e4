"""Properties of both sources' parsers and of label values in the exposition (hypothesis).

Whatever an upstream sends with a 200, parsing it raises nothing but the typed
:class:`~exporter.errors.PayloadError` (LiveKit details may also be one
:class:`~exporter.sources.livekit.wire.InvalidRecord`, which the source counts as skipped).
Arbitrary JSON checks the top of the parsers; to reach deep into them, the simulator's own
payloads (every encoding variant it serves) are mutated field by field and corrupted byte by
byte, then polled through the real sources, rendered, and read back with Prometheus' parsers.
Label values of any text, hostile characters included, come back from the exposition exactly.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from functools import cache
from typing import Any, cast

import anyio
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families as _om_parse
from prometheus_client.parser import text_string_to_metric_families as text_parse
from structlog.testing import capture_logs

from exporter.errors import PayloadError
from exporter.exposition.render import render_chunk
from exporter.exposition.self_metrics import SelfMetrics
from exporter.logs import get_logger
from exporter.simulator import LiveKitSessionTruth
from exporter.simulator.livekit.encoding import (
    encode_details,
    encode_list_item,
    livekit_style,
    snake_case,
)
from exporter.simulator.livekit.world import LiveKitWorld
from exporter.simulator.livepeer.encoding import encode_session, livepeer_floats
from exporter.simulator.livepeer.world import LivepeerWorld
from exporter.sources.base import Snapshot, Source, TargetContext
from exporter.sources.livekit.source import LiveKitSource
from exporter.sources.livekit.wire import InvalidRecord, parse_details
from exporter.sources.livekit.wire import parse_page as parse_livekit_page
from exporter.sources.livepeer.source import LivepeerSource
from exporter.sources.livepeer.wire import parse_page
from exporter.sources.upstream import UpstreamClient, decode_json
from tests.support.fakes import FakeClock
from tests.unit.sources.livekit.fake_api import settings as livekit_settings
from tests.unit.sources.livepeer.fake_studio import SETTINGS as LIVEPEER_SETTINGS

om_parse: Callable[[str], Iterable[Metric]] = _om_parse  # untyped upstream
JSON = object
SEED = 11
NOW = 1_800_000_000.0

# -- arbitrary JSON ---------------------------------------------------------------------------

HOSTILE_CHARS = '"\\\n\r\t\x00\x7f\x85\u2028\u2029\u202e\u200b\ufeff{}=,#% /.?é🎥'
EXTREMES: tuple[JSON, ...] = (
    2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**400, -1, 0, 1e308, -1e308, 5e-324, -0.0,
    "1e400", "-1", "NaN", "Infinity", "0x10", " 12 ", "١٢", "", "2027-02-30T07:00:00Z",
    "2027-01-15T07:00:00.1234567891234Z", "9999-12-31T23:59:60+23:59", True, [], {},
)  # fmt: skip
"""Values at and beyond the edges parsers stumble on: 64-bit and float limits, numeric-looking
strings, impossible timestamps, and empty containers."""

_text = st.text(max_size=12) | st.text(alphabet=HOSTILE_CHARS, max_size=12)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
    | st.sampled_from(EXTREMES)
)
JSON_VALUES: st.SearchStrategy[JSON] = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=5),
    max_leaves=24,
)
_SURROGATES = st.text(
    alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=2
)


def encode(value: JSON, *, ascii_only: bool) -> bytes:
    """JSON bytes; non-ASCII as UTF-8, and lone surrogates as the invalid UTF-8 they become."""
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def _with_surrogates(value: JSON) -> st.SearchStrategy[JSON]:
    return _SURROGATES.map(lambda s: [value, s, {s: value}])


JSON_BODIES = st.builds(
    encode,
    JSON_VALUES | JSON_VALUES.flatmap(_with_surrogates),
    ascii_only=st.booleans(),
)
"""JSON texts of arbitrary values, including strings that are not valid Unicode."""
RAW_BODIES = JSON_BODIES | st.binary(max_size=96)

# -- the simulator's payloads, mutated ------------------------------------------------------


@cache
def livekit_truths() -> tuple[LiveKitSessionTruth, ...]:
    world = LiveKitWorld(seed=SEED, rooms=8, clock=lambda: NOW, active_fraction=0.7)
    return tuple(world.sessions())


@cache
def livekit_lists() -> tuple[JSON, ...]:
    """List bodies as the simulator serves them: camelCase, snake_case, empty."""
    items: list[JSON] = [
        encode_list_item(t, livekit_style(SEED, t.session_id)) for t in livekit_truths()
    ]
    body: dict[str, JSON] = {"sessions": items}
    return body, snake_case(body), {}


@cache
def livekit_details() -> tuple[JSON, ...]:
    """A details body of every simulated session, camelCase and snake_case."""
    bodies: list[JSON] = []
    for truth in livekit_truths():
        body = encode_details(truth, livekit_style(SEED, truth.session_id))
        bodies += [body, snake_case(body)]
    return tuple(bodies)


@cache
def livepeer_pages() -> tuple[JSON, ...]:
    """Pages as Studio sends them, ``parentStream`` included; an empty page too."""
    world = LivepeerWorld(seed=SEED, streams=8, clock=lambda: NOW, active_fraction=0.7)
    items: list[JSON] = [encode_session(t, livepeer_floats(SEED, t.id)) for t in world.sessions()]
    return items, items[:2], []


Path = tuple[str | int, ...]


def nodes(value: JSON, here: Path = ()) -> Iterator[Path]:
    """The path of every value in a JSON tree, the root included."""
    yield here
    if isinstance(value, dict):
        for key, item in value.items():
            yield from nodes(item, (*here, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nodes(item, (*here, index))


def at(value: JSON, path: Path) -> JSON:
    """The value at ``path`` (which :func:`nodes` produced for this tree)."""
    node: Any = value
    for step in path:
        node = node[step]
    return cast(JSON, node)


MUTATIONS = ("replace", "extreme", "delete", "null", "stringify", "wrap", "rename", "duplicate")


@st.composite
def mutated(draw: st.DrawFn, bases: Sequence[JSON]) -> JSON:
    """One of ``bases`` with a few of its values replaced, removed, retyped or renamed."""
    root = copy.deepcopy(draw(st.sampled_from(bases)))
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        path = draw(st.sampled_from(list(nodes(root))))
        old = at(root, path)
        how = draw(st.sampled_from(MUTATIONS))
        new: JSON = old
        if how == "replace":
            new = draw(JSON_VALUES)
        elif how == "extreme":
            new = draw(st.sampled_from(EXTREMES))
        elif how == "null":
            new = None
        elif how == "stringify":
            new = json.dumps(old) if not isinstance(old, str) else old + old
        elif how == "wrap":
            new = [old]
        if not path:
            root = new
            continue
        parent, last = at(root, path[:-1]), path[-1]
        if isinstance(parent, dict) and isinstance(last, str):
            if how == "delete":
                del parent[last]
            elif how == "rename":
                parent[draw(_text | st.just(last.upper()))] = parent.pop(last)
            else:
                parent[last] = new
        elif isinstance(parent, list) and isinstance(last, int):
            if how == "delete":
                del parent[last]
            elif how == "duplicate":
                parent.insert(last, copy.deepcopy(old))
            else:
                parent[last] = new
    return root


_CORRUPTIONS = (
    st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf0\x9f", b"\x00", b'"', b"\\"])
    | st.sampled_from([b",", b"]", b"}", b"\\u0000", b"\\ud800", b"1e999", b"-", b"null"])
    | st.binary(min_size=1, max_size=6)
)


@st.composite
def corrupted(draw: st.DrawFn, body: bytes) -> bytes:
    """``body`` cut short, or with a few bytes inserted or overwritten somewhere."""
    position = draw(st.integers(min_value=0, max_value=len(body)))
    how = draw(st.sampled_from(["truncate", "insert", "overwrite"]))
    if how == "truncate":
        return body[:position]
    junk = draw(_CORRUPTIONS)
    end = position + (len(junk) if how == "overwrite" else 0)
    return body[:position] + junk + body[end:]


def bodies(bases: Callable[[], Sequence[JSON]]) -> st.SearchStrategy[bytes]:
    """Mutated payloads as JSON bytes, some of them corrupted as well."""
    payloads = st.deferred(lambda: mutated(bases()))
    encoded = st.builds(encode, payloads, ascii_only=st.booleans())
    return encoded | encoded.flatmap(corrupted)


# -- the pure parsers --------------------------------------------------------------------------

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DEEP = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(RAW_BODIES | bodies(livekit_lists))
def test_livekit_list_bytes_raise_only_payload_error(body: bytes) -> None:
    """Any list body, decoded and parsed as the source does, is a page or a PayloadError."""
    try:
        page = parse_livekit_page(decode_json(body, "list_sessions"))
    except PayloadError:
        return
    assert page.invalid + len(page.sessions) == page.size


@FAST
@given(RAW_BODIES | bodies(livekit_details))
def test_livekit_details_bytes_raise_only_typed_errors(body: bytes) -> None:
    """Any details body is details, a PayloadError, or one InvalidRecord (counted as
    skipped by the source); a malformed participant is only a problem in the result."""
    try:
        details, problems = parse_details(decode_json(body, "session_details"))
    except (PayloadError, InvalidRecord):
        return
    assert all(isinstance(problem, str) for problem in problems)
    assert min(details.publishers.counts()) >= 0


@FAST
@given(RAW_BODIES | bodies(livepeer_pages))
def test_livepeer_bytes_raise_only_payload_error(body: bytes) -> None:
    """Any Studio body is a page (its records valid or counted invalid) or a PayloadError."""
    try:
        page = parse_page(body)
    except PayloadError:
        return
    assert page.invalid >= 0
    assert all(session.id for session in page.sessions)


# -- the sources, end to end -------------------------------------------------------------------


def context(client: httpx.AsyncClient, kind: str, target: str) -> TargetContext:
    telemetry = SelfMetrics(CollectorRegistry()).target(kind, target, target)
    return TargetContext(
        name=target,
        http=UpstreamClient(client, telemetry),
        clock=FakeClock(wall=NOW),
        telemetry=telemetry,
        log=get_logger(source=kind, target=target),
    )


Polled = tuple["Source[Any]", Snapshot]
"""A source and the snapshot its poll returned."""


async def poll_livekit(list_body: bytes, details_body: bytes) -> Polled:
    """One LiveKit poll whose list answers ``list_body`` and every details ``details_body``."""

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.split(b"?")[0]
        return httpx.Response(
            200, content=list_body if path.endswith(b"/sessions") else details_body
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        source = LiveKitSource(livekit_settings(), context(client, "livekit_cloud", "p_test"))
        return source, await source.poll()


async def poll_livepeer(body: bytes) -> Polled:
    """One Livepeer poll whose only page answers ``body``."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        settings = replace(LIVEPEER_SETTINGS, recording_lookback=10 * 365 * 86400.0)
        source = LivepeerSource(settings, context(client, "livepeer_studio", "default"))
        return source, await source.poll()


_STRING_LITERAL = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)


def strings(body: bytes) -> set[str]:
    """Every string literal (key or value) of a JSON body that is itself valid JSON text."""
    found: set[str] = set()
    for literal in _STRING_LITERAL.findall(body):
        try:
            value = json.loads(literal.decode("utf-8"))
        except ValueError:
            continue
        if isinstance(value, str):
            found.add(value)
    return found


def read_back(source: Source[Any], snapshot: Snapshot) -> list[Metric]:
    """Render a snapshot as the poller does; both exposition formats must parse, and agree."""
    chunk = render_chunk(source.families(snapshot))
    text = list(text_parse(chunk.text.raw.decode()))
    openmetrics = list(om_parse(chunk.openmetrics.raw.decode() + "# EOF\n"))
    series = [(s.name, sorted(s.labels.items())) for f in text for s in f.samples]
    assert len(series) == len({repr(key) for key in series}), "a series is exported twice"
    om_labels = sorted(repr(sorted(s.labels.items())) for f in openmetrics for s in f.samples)
    assert om_labels == sorted(repr(labels) for _, labels in series)
    return text


def session_ids(families: Iterable[Metric]) -> set[str]:
    return {s.labels["session_id"] for f in families for s in f.samples if "session_id" in s.labels}


@DEEP
@given(bodies(livekit_lists), bodies(livekit_details))
def test_any_livekit_answer_is_exported_or_a_payload_error(
    list_body: bytes, details_body: bytes
) -> None:
    """A LiveKit poll over mutated or corrupted answers publishes a snapshot whose exposition
    parses back, with ids that came from the body, or fails with a PayloadError only."""
    with capture_logs():
        try:
            source, snapshot = anyio.run(poll_livekit, list_body, details_body)
        except PayloadError:
            return
    families = read_back(source, snapshot)
    assert session_ids(families) <= strings(list_body)
    assert len(session_ids(families)) + snapshot.omitted == snapshot.sessions


@DEEP
@given(bodies(livepeer_pages))
def test_any_livepeer_answer_is_exported_or_a_payload_error(body: bytes) -> None:
    """A Livepeer poll over a mutated or corrupted page publishes a snapshot whose exposition
    parses back, with ids that came from the body, or fails with a PayloadError only."""
    with capture_logs():
        try:
            source, snapshot = anyio.run(poll_livepeer, body)
        except PayloadError:
            return
    families = read_back(source, snapshot)
    assert session_ids(families) <= strings(body)


# -- label values ------------------------------------------------------------------------------

LABEL_VALUES = (
    st.text(alphabet=st.characters(exclude_categories=["Cs"]))
    | st.text(alphabet=HOSTILE_CHARS)
    | st.text(alphabet=HOSTILE_CHARS, min_size=1).map(lambda s: s * (1 + 2048 // len(s)))
)


@FAST
@given(st.lists(LABEL_VALUES, min_size=1, max_size=6))
def test_label_values_round_trip_through_both_parsers(values: list[str]) -> None:
    """Any text as a label value, rendered by the exporter's encoder, is read back exactly
    by the Prometheus text parser and by the OpenMetrics parser."""
    family = GaugeMetricFamily(
        "livekit_cloud_session_participants_active",
        "Active participants in the session.",
        labels=["project", "room", "session_id"],
    )
    for index, value in enumerate(values):
        family.add_metric([value, value, str(index)], index)
    chunk = render_chunk([family])
    for parsed in (
        text_parse(chunk.text.raw.decode()),
        om_parse(chunk.openmetrics.raw.decode() + "# EOF\n"),
    ):
        samples = [s for f in parsed for s in f.samples]
        assert [(s.labels["project"], s.labels["room"]) for s in samples] == [
            (value, value) for value in values
        ]
        assert [s.value for s in samples] == list(range(len(values)))


@pytest.mark.parametrize("value", [*HOSTILE_CHARS, HOSTILE_CHARS, "x" * 65536])
def test_each_hostile_character_round_trips(value: str) -> None:
    """Every hostile character on its own, and a 64 KiB value, come back unchanged."""
    family = GaugeMetricFamily("x_room_info", "A room.", labels=["room"])
    family.add_metric([value], 1)
    chunk = render_chunk([family])
    (text,) = [s.labels["room"] for f in text_parse(chunk.text.raw.decode()) for s in f.samples]
    raw_om = chunk.openmetrics.raw.decode() + "# EOF\n"
    (om,) = [s.labels["room"] for f in om_parse(raw_om) for s in f.samples]
    assert text == om == value
