"""What a source is, as far as the rest of the exporter cares.

A source polls one upstream for one target and returns an immutable :class:`Snapshot`, or
raises a :class:`~exporter.errors.SourceError`. It gets everything from outside (HTTP client,
clock, telemetry, settings), so swapping LiveKit's API-key endpoint for its future Cloud API
touches only the source: the poller, the exposition and the web app never change. A kind of
source plugs in through its :class:`SourceSpec` (the ``SPEC`` of its package), listed once in
:mod:`exporter.sources.registry`.

Both sources share two pieces of machinery, kept here: :func:`read_pages`, the list loop over
an API's pages (de-duplication, skipped records, the page cap, an API that loops), and
:func:`render_families`, which turns a table of :class:`Family` rows into prometheus-client
metric families.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar, cast

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample
from structlog.typing import FilteringBoundLogger

from exporter.clock import Clock
from exporter.config.flags import Flag
from exporter.config.resolve import Resolver
from exporter.config.secrets import SecretInput, SecretReader
from exporter.config.targets import SourceSettings
from exporter.sources.upstream import RequestRecorder, UpstreamClient

__all__ = [
    "Family",
    "Page",
    "Repeat",
    "Snapshot",
    "Source",
    "SourceSpec",
    "TargetContext",
    "Telemetry",
    "read_pages",
    "render_families",
]

_S = TypeVar("_S", bound=SourceSettings)
_Snap = TypeVar("_Snap", bound="Snapshot")
_R = TypeVar("_R")
_C = TypeVar("_C")

Repeat = Literal["page", "cursor"]
"""How an API showed :func:`read_pages` that it loops: a page the same as the one before it,
or a next cursor already asked for."""


class Telemetry(RequestRecorder, Protocol):
    """Where a source records what it did (the self-metrics of its target)."""

    def skipped(self, reason: Literal["invalid", "duplicate"], count: int = 1) -> None:
        """Upstream records left out of the data."""

    def token_expiry(self, timestamp: float) -> None:
        """A new access token was minted that expires at ``timestamp`` (Unix seconds)."""

    def truncated(self) -> None:
        """This poll stopped reading its list before the end, so its aggregates undercount;
        said once the poll succeeds (a poll that fails serves nothing new)."""


class Snapshot(Protocol):
    """The result of one successful poll: plain typed values, rendered by its source."""

    @property
    def sessions(self) -> int:
        """Active sessions seen, for the poll's log line."""

    @property
    def omitted(self) -> int:
        """Active sessions left out of per-session series by the max-sessions cap."""


class Source(Protocol[_Snap]):
    """One upstream API for one target (a LiveKit project, a Livepeer key)."""

    @property
    def kind(self) -> str:
        """The ``source`` label: ``livekit_cloud`` or ``livepeer_studio``."""

    @property
    def target(self) -> str:
        """The ``target`` label: LiveKit project id, or the Livepeer target name."""

    @property
    def interval(self) -> float:
        """Seconds between the starts of two polls."""

    async def poll(self) -> _Snap:
        """Fetch and parse once; raise SourceError on failure."""

    def families(self, snapshot: _Snap) -> Iterable[Metric]:
        """The data series of ``snapshot``; pure, and called once per snapshot (in a worker
        thread). A method of the source, not of the snapshot, so that the snapshot module
        does not depend on the metrics declared over it."""


@dataclass(frozen=True, slots=True)
class TargetContext:
    """What the composition root hands a source for one target."""

    name: str
    """The target's name: the ``target`` label of its series."""
    http: UpstreamClient
    clock: Clock
    telemetry: Telemetry
    log: FilteringBoundLogger


@dataclass(frozen=True, slots=True)
class SourceSpec(Generic[_S]):
    """One kind of source: its flags and secrets, how its settings are parsed, how it is built.

    Satisfies :class:`~exporter.config.targets.SourceOptions`, so configuration reads a
    source's flags without knowing the source.
    """

    kind: str
    """The ``source`` label value."""
    section: str
    """Its flags' prefix (``livekit``), and its list's key in ``--config.file``."""
    flags: tuple[Flag[object], ...]
    secrets: tuple[SecretInput, ...]
    enable_hint: str
    """How to configure it, for the error when no source is."""
    configure: Callable[[Resolver, SecretReader], _S]
    """Its settings from flags and env; problems go to the resolver."""
    build: Callable[[_S, TargetContext], Source[Any]]


@dataclass(frozen=True, slots=True)
class Page(Generic[_R]):
    """One list page decoded: its valid sessions, how many items it held, how many were bad."""

    sessions: tuple[_R, ...]
    size: int
    """Items on the page, valid or not."""
    invalid: int
    first_error: str | None = None
    """Where the first invalid item went wrong (a path, never a value), when the parser says."""


async def read_pages(
    fetch: Callable[[_C | None], Awaitable[tuple[Page[_R], _C | None]]],
    *,
    max_pages: int,
    key: Callable[[_R], str],
    newer: Callable[[_R, _R], bool] | None = None,
    telemetry: Telemetry,
    at_limit: Callable[[int], None],
    on_repeat: Callable[[Repeat, int], None],
    on_invalid: Callable[[int, str | None], None],
) -> list[_R]:
    """Every session of up to ``max_pages`` pages, each ``key`` once, in the order first seen.

    ``fetch(cursor)`` reads one page and returns it with the cursor of the next one, or None
    when it was the last; the first call gets None. Offset paging over live data repeats rows:
    a repeat counts as a duplicate and the first copy stays, unless ``newer(repeat, kept)``.

    The list stops early, and ``telemetry.truncated()`` says so, when ``max_pages`` pages were
    read and the API had more (``at_limit(sessions so far)``), or when the API loops
    (``on_repeat(what, sessions so far)``): a page lists the same sessions in the same order
    as the page before it (an API that ignores its page parameter), or names a next cursor
    already asked for. Either would otherwise spend every one of ``max_pages`` requests on the
    same rows. Once every page is read, skipped records are counted in ``telemetry``, then
    ``on_invalid(count, first error)`` hears of invalid ones.
    """
    kept: dict[str, _R] = {}
    duplicates = invalid = 0
    first_error: str | None = None
    cursor: _C | None = None
    asked: set[_C] = set()
    previous: tuple[str, ...] = ()
    for _ in range(max_pages):
        page, following = await fetch(cursor)
        invalid += page.invalid
        first_error = first_error or page.first_error
        keys = tuple(map(key, page.sessions))
        for session_key, session in zip(keys, page.sessions, strict=True):
            known = kept.get(session_key)
            if known is None:
                kept[session_key] = session
            else:
                duplicates += 1
                if newer is not None and newer(session, known):
                    kept[session_key] = session
        if following is None:
            break
        repeat: Repeat | None = (
            "page" if keys and keys == previous else "cursor" if following in asked else None
        )
        if repeat is not None:
            telemetry.truncated()
            on_repeat(repeat, len(kept))
            break
        asked.add(following)
        cursor, previous = following, keys
    else:
        telemetry.truncated()
        at_limit(len(kept))
    telemetry.skipped("invalid", invalid)
    telemetry.skipped("duplicate", duplicates)
    if invalid:
        on_invalid(invalid, first_error)
    return list(kept.values())


@dataclass(frozen=True, slots=True)
class Family(Generic[_R]):
    """One row of a metric table: a family, and what each row of data gives it.

    ``value(row)`` is the sample of that row, or None for none. With ``states``, the last of
    ``labels`` takes each state in turn and ``value(row)`` gives one number per state (or None):
    a state set, or one series per direction or track source.
    """

    name: str
    """As exposed: a counter's ends in ``_total``."""
    type: Literal["gauge", "counter"]
    help: str
    labels: tuple[str, ...]
    value: Callable[[_R], float | Sequence[float] | None]
    states: tuple[str, ...] = ()


_One = Callable[[_R], float | None]
_PerState = Callable[[_R], Sequence[float] | None]


def render_families(
    table: Iterable[Family[_R]],
    rows: Sequence[_R],
    key: Callable[[_R], Sequence[str]],
    *,
    target: str,
) -> list[Metric]:
    """The families of ``table`` over ``rows``, in table order, leaving out any without a sample.

    Every sample is labelled ``target`` first (several targets share one exposition), then
    ``key(row)`` gives the values of the labels before the state label, the same in every
    family of the table. A row's label dict is built once and shared by its samples (samples
    are read, never changed), which makes this faster than ``add_metric``.
    """
    keys = [key(row) for row in rows]
    by_names: dict[tuple[str, ...], list[dict[str, str]]] = {}
    out: list[Metric] = []
    for family in table:
        names = family.labels[:-1] if family.states else family.labels
        if (labelled := by_names.get(names)) is None:
            labelled = by_names[names] = [
                {"target": target, **dict(zip(names, k, strict=True))} for k in keys
            ]
        kind = CounterMetricFamily if family.type == "counter" else GaugeMetricFamily
        metric = kind(family.name, family.help, labels=("target", *family.labels))
        name = metric.name + "_total" if family.type == "counter" else metric.name
        samples = metric.samples
        if family.states:
            label, per_state = family.labels[-1], cast(_PerState[_R], family.value)
            for row, base in zip(rows, labelled, strict=True):
                values = per_state(row)
                if values is not None:
                    for state, number in zip(family.states, values, strict=True):
                        samples.append(Sample(name, {**base, label: state}, number))
        else:
            one = cast(_One[_R], family.value)
            for row, base in zip(rows, labelled, strict=True):
                if (value := one(row)) is not None:
                    samples.append(Sample(name, base, value))
        if samples:
            out.append(metric)
    return out
