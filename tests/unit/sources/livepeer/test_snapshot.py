"""Which sessions count as active or tracked, the exact aggregates, and the max-sessions cap."""

from __future__ import annotations

from exporter.sources.livepeer.snapshot import ProjectTotals, Windows, build_snapshot
from exporter.sources.livepeer.wire import parse_page
from tests.unit.sources.livepeer.fake_studio import NOW, PROJECT, fixture_bytes, session

WINDOWS = Windows(active_window=90.0, recording_lookback=6 * 3600.0, max_sessions=1000)


def test_active_window_boundary_is_inclusive() -> None:
    """A session seen exactly active-window ago is active; a millisecond older is not."""
    edge = session("edge", last_seen_ms=(NOW - 90) * 1000)
    old = session("old", last_seen_ms=(NOW - 90) * 1000 - 1)
    future = session("future", last_seen_ms=(NOW + 5) * 1000)  # clock skew: still active
    snap = build_snapshot([edge, old, future], now=NOW, windows=WINDOWS)
    assert [s.id for s in snap.active] == ["edge", "future"]
    assert snap.sessions == snap.active_count == 2


def test_recorded_sessions_are_tracked_within_the_lookback() -> None:
    """Recorded sessions seen within the lookback are tracked; never-seen and older ones not."""
    recent = session(
        "recent", record=True, recording_status="ready", last_seen_ms=(NOW - 3600) * 1000
    )
    edge = session("edge", record=True, last_seen_ms=(NOW - 6 * 3600) * 1000)
    old = session("old", record=True, last_seen_ms=(NOW - 6 * 3600) * 1000 - 1)
    never = session("never", record=True, last_seen_ms=0.0)
    unrecorded = session("plain", last_seen_ms=(NOW - 3600) * 1000)
    snap = build_snapshot([recent, edge, old, never, unrecorded], now=NOW, windows=WINDOWS)
    assert [s.id for s in snap.recorded] == ["edge", "recent"]
    assert snap.active == ()
    (totals,) = snap.totals
    assert totals.recordings == (1, 1, 0, 0, 0)  # edge has no status: waiting; recent ready


def test_aggregates_count_health_rates_and_recordings() -> None:
    """Active sessions by health, rate sums, and recordings by status, per project."""
    sessions = [
        session("a", healthy=True, ingest_rate=100.0, outgoing_rate=1.5),
        session("b", healthy=False, ingest_rate=200.5, outgoing_rate=2.5, record=True),
        session("c", healthy=None, ingest_rate=0.0, outgoing_rate=0.0, record=True,
                recording_status="failed"),
        session("d", project="other", healthy=None, ingest_rate=7.0, outgoing_rate=8.0),
        session("e", project="other", last_seen_ms=(NOW - 100) * 1000, ingest_rate=1e9,
                record=True, recording_status="deleted"),
    ]  # fmt: skip
    snap = build_snapshot(sessions, now=NOW, windows=WINDOWS)
    assert snap.totals == (
        ProjectTotals(PROJECT, 1, 1, 1, 300.5, 4.0, (1, 0, 1, 0, 0)),
        ProjectTotals("other", 0, 0, 1, 7.0, 8.0, (0, 0, 0, 1, 0)),
    )


def test_no_session_at_all_gives_zero_aggregates_for_the_empty_project() -> None:
    """With nothing seen and no project known, aggregates are present at 0 with project=""."""
    snap = build_snapshot([], now=NOW, windows=WINDOWS)
    assert snap.totals == (ProjectTotals(""),)
    assert (snap.active, snap.recorded, snap.sessions, snap.omitted) == ((), (), 0, 0)


def test_known_projects_keep_zero_aggregates_when_idle() -> None:
    """A project seen before keeps its aggregates at 0 and no "" project appears."""
    snap = build_snapshot([], now=NOW, windows=WINDOWS, projects=[PROJECT])
    assert snap.totals == (ProjectTotals(PROJECT),)
    stale = session("stale", last_seen_ms=(NOW - 7 * 3600) * 1000, project="p2")
    snap = build_snapshot([stale], now=NOW, windows=WINDOWS, projects=[PROJECT])
    assert [t.project for t in snap.totals] == [PROJECT, "p2"]


def test_cap_keeps_the_highest_ingest_rates_and_aggregates_stay_exact() -> None:
    """Over max-sessions, the highest-ingest sessions keep their series; totals count all."""
    sessions = [session(f"s{i}", ingest_rate=float(i * 10)) for i in range(6)]
    capped = Windows(90.0, 6 * 3600.0, max_sessions=3)
    snap = build_snapshot(sessions, now=NOW, windows=capped)
    assert [s.id for s in snap.active] == ["s3", "s4", "s5"]
    assert (snap.sessions, snap.omitted) == (6, 3)
    (totals,) = snap.totals
    assert (totals.healthy, totals.ingest_rate) == (6, 150.0)


def test_cap_ties_break_on_recency_then_id() -> None:
    """Equal ingest rates keep the most recently seen, then the smallest id."""
    sessions = [
        session("b", ingest_rate=5.0),
        session("a", ingest_rate=5.0),
        session("c", ingest_rate=5.0, last_seen_ms=(NOW - 1) * 1000),
    ]
    snap = build_snapshot(sessions, now=NOW, windows=Windows(90.0, 3600.0, max_sessions=2))
    assert [s.id for s in snap.active] == ["a", "c"]


def test_recorded_only_sessions_fill_the_budget_left_by_active_ones() -> None:
    """Ended recorded sessions get series only within the budget, most recent first."""
    live = [session("live1", record=True), session("live2")]
    ended = [
        session(f"ended{i}", record=True, recording_status="ready",
                last_seen_ms=(NOW - 600 - i) * 1000)
        for i in range(4)
    ]  # fmt: skip
    snap = build_snapshot([*live, *ended], now=NOW, windows=Windows(90.0, 3600.0, 4))
    assert [s.id for s in snap.active] == ["live1", "live2"]
    assert [s.id for s in snap.recorded] == ["ended0", "ended1", "live1"]
    assert (snap.omitted, snap.recordings_omitted) == (0, 2)
    (totals,) = snap.totals
    assert totals.recordings == (1, 4, 0, 0, 0)


def test_a_capped_active_recorded_session_loses_its_recording_series_too() -> None:
    """An active recorded session left out by the cap has no per-session series at all."""
    sessions = [session("big", ingest_rate=9.0), session("small", ingest_rate=1.0, record=True)]
    snap = build_snapshot(sessions, now=NOW, windows=Windows(90.0, 3600.0, 1))
    assert ([s.id for s in snap.active], snap.recorded) == (["big"], ())
    assert (snap.omitted, snap.recordings_omitted) == (1, 0)
    assert snap.totals[0].recordings == (1, 0, 0, 0, 0)


def test_zero_max_sessions_keeps_only_aggregates() -> None:
    """max-sessions 0 leaves out every per-session series, all counted as omitted."""
    sessions = [session("a"), session("b", record=True, last_seen_ms=(NOW - 600) * 1000)]
    snap = build_snapshot(sessions, now=NOW, windows=Windows(90.0, 3600.0, 0))
    assert (snap.active, snap.recorded, snap.omitted, snap.recordings_omitted) == ((), (), 1, 1)
    assert snap.totals[0].healthy == 1


def test_research_fixture_classifies_live_and_ended_sessions() -> None:
    """In the research example, the live session is active and the ended one tracked."""
    sessions = parse_page(fixture_bytes("two_sessions.json")).sessions
    snap = build_snapshot(sessions, now=NOW, windows=WINDOWS)
    assert [s.id for s in snap.active] == ["4b9e2c1a-7d3f-4e8a-9c55-0f1e2d3c4b5a"]
    assert [s.id for s in snap.recorded] == ["9f0a8b7c-6d5e-4f3a-8b2c-1d0e9f8a7b6c"]
    assert snap.totals == (ProjectTotals(PROJECT, 0, 1, 0, 446877.3, 1225901.3, (0, 1, 0, 0, 0)),)
