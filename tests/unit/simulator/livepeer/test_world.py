"""The simulated Livepeer world: a session's life, recordings, caching, order, determinism."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.simulator import ABSENT, FakeClock, HealthEpisode
from exporter.simulator.livepeer.model import ISSUE_SENTENCES
from exporter.simulator.livepeer.truth import observe_livepeer
from exporter.simulator.livepeer.world import LivepeerWorld

HOUR = 3600.0


def make(seed: int = 1, streams: int = 60, clock: FakeClock | None = None) -> LivepeerWorld:
    return LivepeerWorld(
        seed=seed, streams=streams, clock=clock or FakeClock(), active_fraction=0.8
    )


def test_same_seed_and_clock_give_the_same_world() -> None:
    """Two worlds built from one seed and one clock reading report identical sessions."""
    assert make(seed=9).sessions() == make(seed=9).sessions()
    assert make(seed=9).sessions() != make(seed=10).sessions()


def test_a_session_streams_turns_unhealthy_recovers_ends_and_gets_recorded() -> None:
    """One scripted session goes through every state Studio reports, in order."""
    clock = FakeClock()
    world = make(streams=0, clock=clock)
    t0 = clock.now
    plan = world.add_session(
        session_id="s-1", stream_name="main stage", record=True, started_at=t0, duration=600
    )
    start = plan.started_at_ms
    plan = dataclasses.replace(
        plan,
        id="s-2",
        first_hook_after_ms=5_000,
        flush_phase_ms=20_000,
        episodes=(HealthEpisode(start + 100_000, start + 160_000, ISSUE_SENTENCES[:2]),),
        recording_outcome="ready",
        recording_after_ms=60_000,
        recording_deleted_after_ms=None,
    )
    world.add_session(plan)

    fresh = world.session("s-2", at=t0 + 1)
    assert fresh is not None
    assert (fresh.last_seen, fresh.is_healthy, fresh.issues) == (0, ABSENT, ABSENT)
    assert fresh.recording_status == "waiting"
    assert fresh.source_bytes == 0
    hooked = world.session("s-2", at=t0 + 6)
    assert hooked is not None
    assert hooked.is_healthy is True
    assert hooked.issues is None
    assert hooked.last_seen == start + 5_000
    flushed = world.session("s-2", at=t0 + 21)
    assert flushed is not None
    assert flushed.last_seen == start + 20_000
    assert flushed.source_bytes > 0
    assert flushed.ingest_rate > 0
    assert flushed.source_segments > 0
    sick = world.session("s-2", at=t0 + 120)
    assert sick is not None
    assert sick.is_healthy is False
    assert sick.issues == ISSUE_SENTENCES[:2]
    well = world.session("s-2", at=t0 + 170)
    assert well is not None
    assert well.is_healthy is True
    assert well.issues is None
    ended = world.session("s-2", at=t0 + 601)
    assert ended is not None
    assert ended.is_healthy is None
    assert ended.issues is None
    assert not ended.streaming
    assert ended.ingest_rate > 0
    zeroed = world.session("s-2", at=t0 + 631)
    assert zeroed is not None
    assert zeroed.ingest_rate == 0
    assert zeroed.outgoing_rate == 0
    assert zeroed.source_bytes >= ended.source_bytes
    assert zeroed.recording_status == "waiting"
    ready = world.session("s-2", at=t0 + 661)
    assert ready is not None
    assert ready.recording_status == "ready"
    assert ready.recording_url
    assert ready.mp4_url
    assert ready.stream_name == "main stage"


def test_failed_and_missing_recordings() -> None:
    """A recording can fail, and one that never appears falls to ``none`` after 3 h."""
    clock = FakeClock()
    world = make(streams=0, clock=clock)
    base = world.add_session(session_id="base", record=True, started_at=clock.now, duration=60)
    failed = dataclasses.replace(base, id="failed", recording_outcome="failed")
    never = dataclasses.replace(base, id="never", recording_outcome="never")
    world.add_session(failed)
    world.add_session(never)
    later = clock.now + 60 + base.recording_after_ms / 1000 + 1
    failed_truth = world.session("failed", at=later)
    assert failed_truth is not None
    assert failed_truth.recording_status == "failed"
    waiting = world.session("never", at=later)
    assert waiting is not None
    assert waiting.recording_status == "waiting"
    gone = world.session("never", at=clock.now + 4 * HOUR)
    assert gone is not None
    assert gone.recording_status == "none"


def test_not_recorded_sessions_have_no_recording_status() -> None:
    """``recordingStatus`` is missing (None) whenever ``record`` is false."""
    for s in make(streams=80).sessions():
        assert (s.recording_status is None) == (not s.record)


def test_the_default_order_is_last_seen_then_created_at_descending() -> None:
    """Sessions come newest ``lastSeen`` first, ties broken by newest ``createdAt``."""
    sessions = make(streams=150).sessions()
    keys = [(s.last_seen, s.created_at) for s in sessions]
    assert keys == sorted(keys, reverse=True)


def test_health_takes_every_form() -> None:
    """Across a world and a few hours ``isHealthy`` is true, false, null and missing."""
    clock = FakeClock()
    world = make(streams=200, clock=clock)
    seen: set[object] = set()
    issues: set[int] = set()
    for _ in range(8):
        for s in world.sessions():
            seen.add(s.is_healthy)
            if s.is_healthy is False and isinstance(s.issues, tuple):
                issues.add(len(s.issues))
        clock.advance(900)
    assert seen == {True, False, None, ABSENT}
    assert 0 in issues
    assert max(issues) >= 1


@settings(max_examples=25, deadline=None)
@given(steps=st.lists(st.floats(min_value=0.0, max_value=900.0), min_size=1, max_size=25))
def test_cached_observations_equal_fresh_ones(steps: list[float]) -> None:
    """Whatever the sequence of instants, served (cached) truth equals a fresh observation."""
    clock = FakeClock()
    world = make(seed=4, streams=25, clock=clock)
    for step in steps:
        clock.advance(step)
        now_ms = world.now_ms()
        for truth in world.ordered(now_ms):
            plan = world.plan(truth.id)
            assert plan is not None
            assert truth == observe_livepeer(plan, now_ms)


def test_going_back_in_time_replays_the_world() -> None:
    """After the clock is set back, the world is what a fresh world would show then."""
    clock = FakeClock()
    world = make(clock=clock)
    clock.advance(6 * HOUR)
    world.sessions()
    clock.set(FakeClock.DEFAULT_START - HOUR)
    fresh_clock = FakeClock(clock.now + HOUR)
    fresh = make(clock=fresh_clock)
    fresh_clock.set(clock.now)
    assert world.sessions() == fresh.sessions()


def test_active_sessions_follow_the_90_second_rule() -> None:
    """``active_sessions`` keeps exactly the sessions seen within the window."""
    world = make(streams=100)
    now = world.now_ms() / 1000
    active = world.active_sessions()
    assert active
    assert all(0 < now * 1000 - s.last_seen <= 90_000 for s in active)
    others = [s for s in world.sessions() if s not in active]
    assert all(s.last_seen == 0 or now * 1000 - s.last_seen > 90_000 for s in others)


def test_inserted_sessions_keep_their_names_and_can_be_removed() -> None:
    """An inserted session has the chosen ids and names until it is removed."""
    world = make(streams=3)
    name = 'cam "1" \\ ☃\n' + "y" * 1024
    plan = world.add_session(session_id="id/../%20 ü", name="video+x", stream_name=name)
    truth = world.session("id/../%20 ü")
    assert truth is not None
    assert truth.stream_name == name
    assert truth.name == "video+x"
    assert plan.stream.stream_key
    assert truth.parent_id == plan.stream.id
    world.remove_session(plan.id)
    assert world.session(plan.id) is None
