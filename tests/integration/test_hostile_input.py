"""Hostile names and ids, end to end: the real exporter process against the simulator.

Both simulated worlds hold only sessions whose names and ids are built to break things:
quotes, backslashes, every kind of line break, NUL, bidi overrides, emoji, kilobytes of text,
and ids full of path and query syntax (``/``, ``..``, ``%2F``, ``?``, ``#``). The LiveKit
project id is hostile too, as it is part of every request path. The exposition must give back
exactly the upstream strings through Prometheus' Python text parser, the OpenMetrics parser and
``promtool check metrics``, and every request the simulator received must name a session
through exactly one encoded path segment below the sessions path.

NUL is a valid UTF-8 character and the 0.0.4 text format escapes only ``\\``, ``"`` and line
feeds, so it passes through raw; promtool and both Python parsers accept it, which is what
these tests pin down.
"""

from __future__ import annotations

import posixpath
import re
import subprocess
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote

import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families as _om_parse
from prometheus_client.parser import text_string_to_metric_families as text_parse

from exporter.simulator import SimulatorConfig
from exporter.simulator.simulator import Simulator
from tests.support.processes import ExporterProcess, running_simulator, simulator_env, wait_for

om_parse: Callable[[str], Iterable[Metric]] = _om_parse  # untyped upstream
OPENMETRICS = "application/openmetrics-text; version=1.0.0"

PROJECT = "p_ho/st..%2F ile?x=1#ü"
"""A hostile LiveKit project id: it is a path segment of every LiveKit request."""

IDS = (
    "/",
    ".",
    "..",
    "../..",
    "../../other",
    "a/b",
    "%2F",
    "%2e%2e",
    "%",
    "100%",
    "%zz",
    " ",
    "with space",
    "?",
    "a?page=1&limit=1",
    "#",
    "a#b",
    "\\",
    "..\\..",
    ";param",
    "a+b=c&d",
    "会议 ☕",
    "RM_\u202eevil",
    "line\nbreak",
    "cr\rtab\t",
    '"quoted"',
    "nul\x00id",
    "caf\u00e9",  # NFC
    "cafe\u0301",  # NFD: a different id that looks the same
    "RM_" + "x" * 300,
)
NAMES = (
    '"',
    "\\",
    "\n",
    "\r",
    "\t",
    "\r\n",
    '\\"',
    "\\n",
    'quote " back \\ nl \n cr \r tab \t end',
    "emoji 🎥🧑🏽\u200d💻",
    "RTL \u202eevil\u202c",
    "مرحبا بالعالم",
    "zero\u200bwidth",
    "nul\x00byte",
    "del\x7f",
    "nel\x85 ls\u2028 ps\u2029",
    "bom\ufeff",
    '} 1.0\nfake_metric{a="b"} 2',
    "# HELP livekit_cloud_sessions_active forged",
    "x" * 1024,
    "y" * 4096 + "\n" + "z" * 4096,
    "",
)
_ENCODED_SEGMENT = re.compile(r"(?:[A-Za-z0-9_~-]|%[0-9A-F]{2})+")
"""One path segment as the exporter must write an id: unreserved characters other than the
dot, and percent-escapes; no ``/``, ``?``, ``#``, ``%`` of its own or dot segment possible."""


@dataclass(frozen=True)
class Hostile:
    """What the worlds hold: (room, session id) for LiveKit; (stream id, stream name,
    session id) for Livepeer."""

    livekit: frozenset[tuple[str, str]]
    livepeer: frozenset[tuple[str, str, str]]


def _names(count: int) -> Iterator[str]:
    for index in range(count):
        yield NAMES[index % len(NAMES)]


def populate(sim: Simulator) -> Hostile:
    """Insert one session per hostile id into each world, each with a hostile name."""
    livekit = set()
    for session_id, room in zip(IDS, _names(len(IDS)), strict=True):
        sim.livekit.add_session(session_id=session_id, room_name=room)
        livekit.add((room, session_id))
    livepeer = set()
    names = list(_names(len(IDS) + 3))[3:]  # other pairings than LiveKit's
    for index, (session_id, name) in enumerate(zip(IDS, names, strict=True)):
        stream_id = IDS[(index + 7) % len(IDS)] + f"/{index}"  # unique, and hostile
        sim.livepeer.add_session(session_id=session_id, stream_name=name, stream_id=stream_id)
        livepeer.add((stream_id, name, session_id))
    return Hostile(frozenset(livekit), frozenset(livepeer))


@dataclass(frozen=True)
class Run:
    hostile: Hostile
    project: str
    text: str
    openmetrics: str
    sim: Simulator


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    """One exporter process that has polled both hostile worlds once, and its expositions."""
    config = SimulatorConfig(livekit_sessions=0, livepeer_sessions=0, livekit_project_id=PROJECT)
    with running_simulator(config) as sim:
        hostile = populate(sim)
        assert sim.endpoints is not None
        env = simulator_env(sim.endpoints)
        with ExporterProcess(["--livekit.requests-per-minute=6000"], env) as exporter:

            def polled() -> bool:
                done = exporter.events("poll_succeeded") + exporter.events("poll_failed")
                return {e["source"] for e in done} == {"livekit_cloud", "livepeer_studio"}

            wait_for(polled, within=30, what="a first poll of both sources")
            failures = exporter.events("poll_failed") + exporter.events("poll_crashed")
            assert failures == [], failures
            text = exporter.scrape()
            openmetrics = exporter.scrape(Accept=OPENMETRICS)
        yield Run(hostile, PROJECT, text, openmetrics, sim)


def session_labels(
    families: Iterable[Metric], prefix: str, names: tuple[str, ...]
) -> set[tuple[str, ...]]:
    """The ``names`` label values of every per-session sample of the families named ``prefix``."""
    return {
        tuple(sample.labels[name] for name in names)
        for family in families
        if family.name.startswith(prefix)
        for sample in family.samples
        if "session_id" in sample.labels
    }


@pytest.mark.parametrize("fmt", ["text", "openmetrics"])
def test_label_values_read_back_exactly(run: Run, fmt: str) -> None:
    """Both parsers give back exactly the upstream room, stream and id strings, no more."""
    body = run.text if fmt == "text" else run.openmetrics
    families = list(text_parse(body) if fmt == "text" else om_parse(body))
    livekit = session_labels(families, "livekit_cloud_session_", ("project", "room", "session_id"))
    assert livekit == {(run.project, room, sid) for room, sid in run.hostile.livekit}
    livepeer = session_labels(
        families, "livepeer_studio_session_", ("stream_id", "stream_name", "session_id")
    )
    assert livepeer == set(run.hostile.livepeer)
    targets = {
        s.labels["target"]
        for f in families
        if f.name == "livesession_exporter_source_up"
        for s in f.samples
    }
    assert targets == {run.project, "default"}


def test_promtool_accepts_the_exposition(run: Run, promtool: str) -> None:
    """promtool check metrics finds nothing wrong with the text exposition of hostile data."""
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=run.text.encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert result.stderr == b""


def test_no_line_of_the_exposition_is_forged(run: Run) -> None:
    """A name holding a line break and a fake sample never starts a line of its own."""
    for line in run.text.split("\n"):
        assert not line.startswith("fake_metric"), line
        assert not line.startswith("# HELP livekit_cloud_sessions_active forged"), line


def livekit_segments(path: str, project: str) -> list[str]:
    """The segments of a LiveKit request path after ``/api/project/{project}/sessions``,
    checking that the project is one encoded segment that decodes to ``project``."""
    assert posixpath.normpath(path) == path, path
    segments = path.split("/")
    assert segments[:3] == ["", "api", "project"], path
    assert _ENCODED_SEGMENT.fullmatch(segments[3]), path
    assert unquote(segments[3], errors="strict") == project
    assert segments[4] == "sessions", path
    return segments[5:]


def test_every_livekit_request_stays_in_the_sessions_path(run: Run) -> None:
    """Each request is the sessions list or the sessions path plus one encoded segment that
    decodes to a listed id: no dot segment, no query, no other path, and no 404; the hostile
    project id is one encoded segment of every path."""
    log = run.sim.log
    assert {r.endpoint for r in log if r.api == "livekit"} == {"livekit.list", "livekit.details"}
    ids = {sid for _, sid in run.hostile.livekit}
    for record in log.for_endpoint("livekit.list"):
        assert livekit_segments(record.raw_path, run.project) == []
        assert record.status == 200
    requested: set[str] = set()
    for record in log.for_endpoint("livekit.details"):
        (segment,) = livekit_segments(record.raw_path, run.project)
        assert _ENCODED_SEGMENT.fullmatch(segment), segment
        assert record.query_string == ""
        assert record.status == 200
        requested.add(unquote(segment, errors="strict"))
    assert requested == ids


def test_details_were_fetched_for_every_hostile_id(run: Run) -> None:
    """Every hostile id got its details: its publishers series exist for all track sources."""
    published: dict[str, set[str]] = {}
    for family in text_parse(run.text):
        if family.name != "livekit_cloud_session_publishers":
            continue
        for sample in family.samples:
            published.setdefault(sample.labels["session_id"], set()).add(
                sample.labels["track_source"]
            )
    sources = {"camera", "microphone", "screen_share", "screen_share_audio"}
    assert published == {sid: sources for _, sid in run.hostile.livekit}


def test_livepeer_requests_stay_on_the_sessions_endpoint(run: Run) -> None:
    """Hostile Livepeer data never changes where the exporter sends its requests."""
    records = [r for r in run.sim.log if r.api == "livepeer"]
    assert records
    for record in records:
        assert (record.endpoint, record.raw_path, record.status) == (
            "livepeer.list",
            "/api/session",
            200,
        )
