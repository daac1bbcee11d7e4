"""The simulated LiveKit world: determinism, evolution over time, laziness, inserted sessions."""

from __future__ import annotations

import pytest

from exporter.simulator import FakeClock
from exporter.simulator.livekit.model import NS
from exporter.simulator.livekit.truth import EGRESS_ACTIVE, EGRESS_ENDED, EGRESS_NEVER_STARTED
from exporter.simulator.livekit.world import LiveKitWorld

HOUR = 3600.0


def make(seed: int = 1, rooms: int = 60, clock: FakeClock | None = None) -> LiveKitWorld:
    return LiveKitWorld(seed=seed, rooms=rooms, clock=clock or FakeClock(), active_fraction=0.8)


def test_same_seed_and_clock_give_the_same_world() -> None:
    """Two worlds built from one seed and one clock reading report identical sessions."""
    assert make(seed=5).sessions() == make(seed=5).sessions()
    assert make(seed=5).sessions() != make(seed=6).sessions()


def test_truth_does_not_depend_on_what_was_looked_at_before() -> None:
    """A world read at several instants agrees with one read only at the last instant."""
    first_clock, second_clock = FakeClock(), FakeClock()
    first, second = make(clock=first_clock), make(clock=second_clock)
    for _ in range(5):
        first_clock.advance(1234.5)
        first.sessions()
    second_clock.set(first_clock.now)
    assert first.sessions() == second.sessions()


def test_sessions_end_and_new_ones_start_as_time_passes() -> None:
    """Over a day every room moves on: old sessions are replaced, new ones are created later."""
    clock = FakeClock()
    world = make(clock=clock)
    before = {s.session_id for s in world.sessions()}
    clock.advance(24 * HOUR)
    after = world.sessions()
    assert before.isdisjoint(s.session_id for s in after)
    assert all(s.created_at_s > FakeClock.DEFAULT_START for s in after)
    assert any(not s.active for s in after)
    assert any(s.active for s in after)


def test_about_the_configured_fraction_of_rooms_is_active() -> None:
    """With active_fraction 0.8, roughly four rooms in five have an active session."""
    active = len(make(rooms=400).active_sessions())
    assert 0.65 * 400 < active < 0.95 * 400


def test_list_order_is_newest_first_and_counts_are_consistent() -> None:
    """Sessions come newest first; active participants never exceed participants."""
    sessions = make().sessions()
    created = [s.created_at_ns for s in sessions]
    assert created == sorted(created, reverse=True)
    for s in sessions:
        assert 0 <= s.num_active_participants <= s.num_participants
        assert s.num_active_participants == sum(p.is_active for p in s.participants)
        assert s.connection_successes <= s.connection_attempts
        assert s.billable_bandwidth == s.bandwidth_in + s.bandwidth_out
        if not s.active:
            assert s.num_active_participants == 0
            assert s.ended_at_ns is not None
            assert s.ended_at_ns >= s.last_active_ns


def test_counters_grow_and_egress_only_moves_forward() -> None:
    """Bandwidth and participant counts never decrease; egress goes 0, 1, 2 in that order."""
    clock = FakeClock()
    world = make(rooms=40, clock=clock)
    ids = [s.session_id for s in world.active_sessions()]
    history: dict[str, list[tuple[int, int, int, int]]] = {i: [] for i in ids}
    for _ in range(40):
        for session_id in ids:
            s = world.session(session_id)
            if s is not None:
                history[session_id].append(
                    (s.bandwidth_in, s.bandwidth_out, s.num_participants, s.egress)
                )
        clock.advance(90)
    for rows in history.values():
        for column in range(4):
            values = [row[column] for row in rows]
            assert values == sorted(values)
    seen = {row[3] for rows in history.values() for row in rows}
    assert seen == {EGRESS_NEVER_STARTED, EGRESS_ACTIVE, EGRESS_ENDED}


def test_participants_join_leave_and_publish() -> None:
    """Over a session's life participants join and leave and publish every source kind."""
    clock = FakeClock()
    world = make(rooms=150, clock=clock)
    joined = left = 0
    sources = {"camera": 0, "microphone": 0, "screen_share": 0, "screen_share_audio": 0}
    for _ in range(6):
        for s in world.sessions():
            joined += s.num_participants
            left += sum(p.left_at_ns is not None for p in s.participants)
            for key, count in s.publishers().items():
                sources[key] += count
        clock.advance(600)
    assert joined > left > 0
    assert all(count > 0 for count in sources.values()), sources


def test_a_page_only_draws_the_participants_it_shows() -> None:
    """Paging 100 of 3,000 rooms draws participants for at most those 100 sessions."""
    world = make(rooms=3000)
    page = world.page(world.now_ns(), since_ns=None, until_ns=None, offset=1000, limit=100)
    assert len(page) == 100
    assert world.materialized <= 100


def test_the_window_selects_by_creation_time() -> None:
    """``since`` is inclusive and ``until`` exclusive, both on ``createdAt``."""
    world = make(rooms=100)
    now = world.now_ns()
    everything = world.page(now, since_ns=None, until_ns=None, offset=0, limit=None)
    middle = everything[len(everything) // 2].created_at_ns
    newer = world.page(now, since_ns=middle, until_ns=None, offset=0, limit=None)
    older = world.page(now, since_ns=None, until_ns=middle, offset=0, limit=None)
    assert all(s.created_at_ns >= middle for s in newer)
    assert all(s.created_at_ns < middle for s in older)
    assert len(newer) + len(older) == len(everything)


def test_going_back_in_time_replays_the_world() -> None:
    """After the clock is set back, the world is what a fresh world would show then."""
    clock = FakeClock()
    world = make(clock=clock)
    clock.advance(10 * HOUR)
    world.sessions()
    clock.set(FakeClock.DEFAULT_START + 2 * HOUR)
    fresh_clock = FakeClock()
    fresh = make(clock=fresh_clock)
    fresh_clock.set(clock.now)
    assert world.sessions() == fresh.sessions()


def test_inserted_sessions_keep_their_hostile_names_and_ids() -> None:
    """Inserted sessions are listed and retrievable with exactly the chosen name and id."""
    clock = FakeClock()
    world = make(rooms=5, clock=clock)
    name = 'room "q" \\ back\nnew line ünï ☃ ' + "x" * 1024
    plan = world.add_session(session_id="RM_a/b/../c %2F d ü", room_name=name)
    truth = world.session("RM_a/b/../c %2F d ü")
    assert truth is not None
    assert truth.room_name == name
    assert truth.active
    assert truth.session_id in {s.session_id for s in world.sessions()}
    assert world.plan(plan.session_id) == plan
    with pytest.raises(ValueError, match="already"):
        world.add_session(session_id=plan.session_id)
    clock.advance(30 * 24 * HOUR)
    still = world.session(plan.session_id)
    assert still is not None
    assert still.active
    world.remove_session(plan.session_id)
    assert world.session(plan.session_id) is None
    with pytest.raises(KeyError):
        world.remove_session(plan.session_id)


def test_an_inserted_session_with_a_duration_ends_on_its_own() -> None:
    """``duration`` makes an inserted session end after its participants leave."""
    clock = FakeClock()
    world = make(rooms=0, clock=clock)
    plan = world.add_session(session_id="RM_short", started_at=clock.now, duration=600)
    assert plan.ended_at_ns is not None
    clock.set(plan.ended_at_ns / NS + 1)
    ended = world.session("RM_short")
    assert ended is not None
    assert not ended.active
    assert ended.num_active_participants == 0


def test_a_session_before_its_start_is_not_listed() -> None:
    """A session inserted to start in the future is invisible until it starts."""
    clock = FakeClock()
    world = make(rooms=0, clock=clock)
    world.add_session(session_id="RM_later", started_at=clock.now + 60)
    assert world.sessions() == []
    assert world.session("RM_later") is None
    clock.advance(61)
    assert [s.session_id for s in world.sessions()] == ["RM_later"]
