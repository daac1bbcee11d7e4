"""What both sources share: the list loop over pages, and metric tables rendered to families."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import pytest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from exporter.errors import UpstreamError
from exporter.sources.base import Family, Page, Repeat, read_pages, render_families

pytestmark = pytest.mark.anyio


@dataclass(frozen=True)
class Row:
    """A listed record: its key, and when it was seen."""

    id: str
    seen: int = 0


@dataclass
class Recorder:
    """A Telemetry that remembers what it was told, and the other hooks of the loop."""

    calls: list[tuple[object, ...]] = field(default_factory=list)

    def request(self, endpoint: str, code: str, seconds: float) -> None:
        self.calls.append(("request", endpoint, code))

    def skipped(self, reason: str, count: int = 1) -> None:
        self.calls.append(("skipped", reason, count))

    def token_expiry(self, timestamp: float) -> None:
        self.calls.append(("token_expiry", timestamp))

    def truncated(self) -> None:
        self.calls.append(("truncated",))

    def at_limit(self, sessions: int) -> None:
        self.calls.append(("at_limit", sessions))

    def on_repeat(self, what: Repeat, sessions: int) -> None:
        self.calls.append(("repeat", what, sessions))

    def on_invalid(self, count: int, first: str | None) -> None:
        self.calls.append(("invalid", count, first))


Fetch = Callable[[int | None], Awaitable[tuple[Page[Row], int | None]]]


def pages(*contents: Page[Row]) -> tuple[list[int | None], Fetch]:
    """A fetch over ``contents`` (cursor i + 1 after page i, None after the last), and the
    cursors it was called with."""
    asked: list[int | None] = []

    async def fetch(cursor: int | None) -> tuple[Page[Row], int | None]:
        asked.append(cursor)
        index = cursor or 0
        return contents[index], (index + 1 if index + 1 < len(contents) else None)

    return asked, fetch


async def read(
    fetch: Fetch,
    recorder: Recorder,
    max_pages: int = 10,
    newer: Callable[[Row, Row], bool] | None = None,
) -> list[Row]:
    return await read_pages(
        fetch,
        max_pages=max_pages,
        key=lambda row: row.id,
        newer=newer,
        telemetry=recorder,
        at_limit=recorder.at_limit,
        on_repeat=recorder.on_repeat,
        on_invalid=recorder.on_invalid,
    )


async def test_pages_are_read_until_there_is_no_next_cursor() -> None:
    """The first page is asked with None, each next one with the cursor its page gave."""
    asked, fetch = pages(Page((Row("a"),), 1, 0), Page((Row("b"),), 1, 0), Page((), 0, 0))
    recorder = Recorder()
    assert [r.id for r in await read(fetch, recorder)] == ["a", "b"]
    assert asked == [None, 1, 2]
    assert recorder.calls == [("skipped", "invalid", 0), ("skipped", "duplicate", 0)]


async def test_repeats_keep_the_first_copy_unless_a_newer_one_is_wanted() -> None:
    """A repeated key is a counted duplicate; the first copy stays, in its first place,
    unless ``newer`` prefers the repeat (strictly)."""
    first = Page((Row("a", 1), Row("b", 5)), 2, 0)
    second = Page((Row("b", 5), Row("a", 3), Row("c")), 3, 0)
    recorder = Recorder()
    _, fetch = pages(first, second)
    assert await read(fetch, recorder) == [Row("a", 1), Row("b", 5), Row("c")]
    _, fetch = pages(first, second)
    newer = await read(fetch, recorder, newer=lambda new, kept: new.seen > kept.seen)
    assert newer == [Row("a", 3), Row("b", 5), Row("c")]
    assert recorder.calls.count(("skipped", "duplicate", 2)) == 2


async def test_the_limit_is_reported_only_when_there_was_more() -> None:
    """Reading ``max_pages`` pages with a next cursor left marks the poll truncated and calls
    ``at_limit`` with the sessions so far; a last page that is exactly the limit does neither."""
    contents = [Page((Row(str(i)),), 1, 0) for i in range(3)]
    recorder = Recorder()
    asked, fetch = pages(*contents)
    assert len(await read(fetch, recorder, max_pages=2)) == 2
    assert asked == [None, 1]
    assert recorder.calls[:2] == [("truncated",), ("at_limit", 2)]
    recorder = Recorder()
    _, fetch = pages(*contents)
    await read(fetch, recorder, max_pages=3)
    assert not any(call[0] in ("at_limit", "truncated") for call in recorder.calls)


async def test_a_page_the_same_as_the_one_before_ends_the_list_as_truncated() -> None:
    """An API that ignores its page parameter answers the same page again: the list stops at
    the repeat (two requests, not max-pages), its rows count as duplicates, and the poll is
    marked truncated."""
    same = Page((Row("a"), Row("b")), 2, 0)
    asked: list[int | None] = []

    async def fetch(cursor: int | None) -> tuple[Page[Row], int]:
        asked.append(cursor)
        return same, (cursor or 0) + 1

    recorder = Recorder()
    assert [r.id for r in await read(fetch, recorder, max_pages=50)] == ["a", "b"]
    assert asked == [None, 1]
    assert recorder.calls == [
        ("truncated",),
        ("repeat", "page", 2),
        ("skipped", "invalid", 0),
        ("skipped", "duplicate", 2),
    ]


async def test_a_cursor_already_asked_ends_the_list_as_truncated() -> None:
    """A next cursor that was asked before is not asked again: the list stops (the pages so
    far are kept) and the poll is marked truncated, whether the loop is one page or longer."""
    loops: list[dict[str | None, str]] = [
        {None: "x", "x": "x"},
        {None: "x", "x": "y", "y": "x"},
    ]
    for loop in loops:
        asked: list[str | None] = []

        async def fetch(
            cursor: str | None, loop: dict[str | None, str] = loop, asked: list[str | None] = asked
        ) -> tuple[Page[Row], str]:
            asked.append(cursor)
            return Page((Row(f"row-{cursor}"),), 1, 0), loop[cursor]

        recorder = Recorder()
        found = await read_pages(
            fetch,
            max_pages=50,
            key=lambda row: row.id,
            telemetry=recorder,
            at_limit=recorder.at_limit,
            on_repeat=recorder.on_repeat,
            on_invalid=recorder.on_invalid,
        )
        assert asked == list(loop)
        assert len(found) == len(loop)
        assert recorder.calls[:2] == [("truncated",), ("repeat", "cursor", len(loop))]


async def test_a_repeat_on_the_last_page_is_no_truncation() -> None:
    """A page like the one before that names no next page ends the list as complete: only a
    repeat that would be followed is a loop."""
    same = Page((Row("a"),), 1, 0)
    _, fetch = pages(same, same)
    recorder = Recorder()
    await read(fetch, recorder)
    assert not any(call[0] in ("truncated", "repeat") for call in recorder.calls)


async def test_invalid_records_are_counted_then_reported_with_the_first_error() -> None:
    """Invalid records of every page add up; the first error named by a page is reported."""
    _, fetch = pages(Page((), 2, 2), Page((Row("a"),), 3, 2, "$.sessions[1]: bad"))
    recorder = Recorder()
    await read(fetch, recorder)
    assert recorder.calls == [
        ("skipped", "invalid", 4),
        ("skipped", "duplicate", 0),
        ("invalid", 4, "$.sessions[1]: bad"),
    ]


async def test_a_failed_page_counts_nothing() -> None:
    """A listing is all or nothing: when a page fails, nothing is counted or reported."""
    recorder = Recorder()

    async def fetch(cursor: int | None) -> tuple[Page[Row], int | None]:
        if cursor:
            raise UpstreamError("list_sessions: HTTP 503", reason="server_error")
        return Page((Row("a"),), 1, 1, "bad"), 1

    with pytest.raises(UpstreamError):
        await read(fetch, recorder)
    assert recorder.calls == []


@dataclass(frozen=True)
class Stat:
    """A row of data for the test table: a scalar and a split value, either may be missing."""

    name: str
    count: float | None
    split: Sequence[float] | None = None


TABLE: tuple[Family[Stat], ...] = (
    Family("demo_count", "gauge", "A count.", ("thing",), lambda s: s.count),
    Family(
        "demo_bytes_total", "counter", "Bytes.", ("thing", "way"), lambda s: s.split, ("in", "out")
    ),
    Family("demo_never", "gauge", "Never set.", ("thing",), lambda s: None),
)


def samples(
    rows: Sequence[Stat], target: str = "prod"
) -> list[tuple[str, str, list[tuple[str, dict[str, str], float]]]]:
    return [
        (f.name, f.type, [(s.name, s.labels, s.value) for s in f.samples])
        for f in render_families(TABLE, rows, lambda s: (s.name,), target=target)
    ]


def test_a_table_renders_in_order_and_leaves_out_empty_families() -> None:
    """Each row gives one sample per family (None: none), one per state for a family with
    states; counters are named without ``_total`` and sampled with it."""
    rows = [Stat("a", 1, (10, 20)), Stat("b", None, None), Stat("c", 3)]
    assert samples(rows) == [
        (
            "demo_count",
            "gauge",
            [
                ("demo_count", {"target": "prod", "thing": "a"}, 1),
                ("demo_count", {"target": "prod", "thing": "c"}, 3),
            ],
        ),
        (
            "demo_bytes",
            "counter",
            [
                ("demo_bytes_total", {"target": "prod", "thing": "a", "way": "in"}, 10),
                ("demo_bytes_total", {"target": "prod", "thing": "a", "way": "out"}, 20),
            ],
        ),
    ]
    assert samples([]) == []


def test_every_sample_is_labelled_with_the_target_given() -> None:
    """The ``target`` label is the value passed, on every sample of every family."""
    rows = [Stat("a", 1, (10, 20)), Stat("c", 3)]
    for target in ("prod", "staging-eu"):
        got = [
            labels["target"] for _, _, family in samples(rows, target) for _, labels, _ in family
        ]
        assert got == [target] * 4


def test_help_and_label_names_come_from_the_table() -> None:
    """A family carries the table's help text; every sample has exactly its label names,
    ``target`` first, then the table's, in the table's order."""
    (count, total) = render_families(
        TABLE, [Stat("a", 1, (1, 2))], lambda s: (s.name,), target="prod"
    )
    assert (count.documentation, total.documentation) == ("A count.", "Bytes.")
    assert isinstance(count, GaugeMetricFamily)
    assert isinstance(total, CounterMetricFamily)
    assert (count._labelnames, total._labelnames) == (
        ("target", "thing"),
        ("target", "thing", "way"),
    )
    assert {tuple(s.labels) for s in count.samples} == {("target", "thing")}
    assert {tuple(s.labels) for s in total.samples} == {("target", "thing", "way")}
