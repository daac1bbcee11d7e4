"""LiveKit snapshot → metric families: exact exposition, the cap, aggregates, state sets."""

from __future__ import annotations

import msgspec
from prometheus_client.parser import text_string_to_metric_families

from exporter.exposition.render import render_chunk
from exporter.sources.livekit.metrics import LiveKitSnapshot, build_snapshot
from exporter.sources.livekit.wire import (
    ListedSession,
    Publishers,
    SessionDetails,
    parse_details,
    parse_sessions,
)
from tests.conftest import FIXTURES, Golden

NS = 1_000_000_000


def load(name: str) -> object:
    return msgspec.json.decode((FIXTURES / "livekit" / name).read_bytes())


def session(session_id: str, active_participants: int = 1, egress: int = 0) -> ListedSession:
    return ListedSession(
        session_id=session_id,
        room_name=f"room-{session_id}",
        created_at_ns=1_800_000_000 * NS,
        ended_at_ns=None,
        last_active_ns=1_800_000_060 * NS + 250_000_000,
        bandwidth_in=100,
        bandwidth_out=200,
        egress=egress,
        num_participants=active_participants + 1,
        num_active_participants=active_participants,
    )


def samples(snapshot: LiveKitSnapshot) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = render_chunk(snapshot.families()).text.raw.decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def names(snapshot: LiveKitSnapshot) -> set[str]:
    return {name for name, _ in samples(snapshot)}


def fixture_snapshot(max_sessions: int = 1000) -> LiveKitSnapshot:
    listed = [
        *parse_sessions(load("list_camel.json")).sessions,
        *parse_sessions(load("list_snake.json")).sessions,
        *parse_sessions(load("list_numbers.json")).sessions,
        *parse_sessions(load("list_omitted.json")).sessions,
    ]
    active = [s for s in listed if s.active]
    details = {
        "RM_NMEtcdy4r73X": parse_details(load("details_camel.json"))[0],
        "RM_snake1": parse_details(load("details_snake.json"))[0],
        "RM_quiet": parse_details(load("details_minimal.json"))[0],
    }
    return build_snapshot("p_abc", active, details, max_sessions)


def test_fixture_snapshot_matches_golden(golden: Golden) -> None:
    """Every LiveKit family renders exactly as recorded, from every payload variant."""
    chunk = render_chunk(fixture_snapshot().families())
    golden.check("livekit_snapshot.prom", chunk.text.raw.decode())


def test_aggregates_count_active_sessions_only() -> None:
    """Aggregates sum active sessions; the ended one of the fixtures counts for nothing."""
    snap = fixture_snapshot()
    got = samples(snap)
    project = (("project", "p_abc"),)
    assert got[("livekit_cloud_sessions_active", project)] == 4
    assert got[("livekit_cloud_participants_active", project)] == 2 + 4 + 1 + 0
    assert got[("livekit_cloud_egress_active", project)] == 1
    publishers = {
        labels[1][1]: value
        for (name, labels), value in got.items()
        if name == "livekit_cloud_publishers"
    }
    assert publishers == {
        "camera": 2 + 1,
        "microphone": 2,
        "screen_share": 1 + 1,
        "screen_share_audio": 1,
    }
    assert not any(("session_id", "RM_o4qeUZCBDopa") in labels for _, labels in got), (
        "an ended session has no series"
    )


def test_aggregates_are_present_and_zero_with_no_sessions() -> None:
    """A project with nothing active still exports every aggregate, at 0, and no session."""
    snap = build_snapshot("p_abc", [], {}, 1000)
    got = samples(snap)
    assert len(got) == 3 + 4
    assert set(got.values()) == {0.0}
    assert (snap.sessions, snap.omitted) == (0, 0)


def test_egress_is_a_state_set_with_every_state() -> None:
    """Each session has all three egress states, 1 for its current one."""
    snap = build_snapshot("p", [session("a", egress=0), session("b", egress=2)], {}, 10)
    got = samples(snap)

    def state(session_id: str, status: str) -> float:
        labels = (
            ("project", "p"),
            ("room", f"room-{session_id}"),
            ("session_id", session_id),
            ("status", status),
        )
        return got[("livekit_cloud_session_egress_status", labels)]

    assert [state("a", s) for s in ("never_started", "active", "ended")] == [1, 0, 0]
    assert [state("b", s) for s in ("never_started", "active", "ended")] == [0, 0, 1]


def test_details_series_appear_only_when_known_and_present() -> None:
    """Publishers need details; billable bandwidth and connection time need their fields."""
    details = {
        "full": SessionDetails(Publishers(camera=1), 5000, 2.5),
        "bare": SessionDetails(Publishers(), None, None),
    }
    snap = build_snapshot("p", [session("full"), session("bare"), session("none")], details, 10)
    got = samples(snap)

    def has(name: str, session_id: str) -> bool:
        return any(n == name and ("session_id", session_id) in labels for n, labels in got)

    assert [has("livekit_cloud_session_publishers", s) for s in ("full", "bare", "none")] == [
        True,
        True,
        False,
    ]
    billable = "livekit_cloud_session_billable_bandwidth_bytes_total"
    seconds = "livekit_cloud_session_connection_seconds_total"
    assert [has(billable, s) for s in ("full", "bare", "none")] == [True, False, False]
    assert [has(seconds, s) for s in ("full", "bare", "none")] == [True, False, False]
    full = (("project", "p"), ("room", "room-full"), ("session_id", "full"))
    assert got[(seconds, full)] == 150.0
    assert got[(billable, full)] == 5000


def test_cap_keeps_the_busiest_sessions_and_exact_aggregates() -> None:
    """Over the cap, the sessions with most active participants keep their series; the
    rest are counted in omitted, and aggregates still include every session."""
    active = [session(f"s{i}", active_participants=i % 7, egress=1) for i in range(20)]
    details = {s.session_id: SessionDetails(Publishers(microphone=1), None, None) for s in active}
    snap = build_snapshot("p", active, details, 5)
    shown = {view.session.session_id for view in snap.shown}
    busiest = sorted(active, key=lambda s: (-s.num_active_participants, s.session_id))[:5]
    assert shown == {s.session_id for s in busiest}
    assert min(s.num_active_participants for s in busiest) == 5
    assert (snap.sessions, snap.omitted) == (20, 15)
    got = samples(snap)
    project = (("project", "p"),)
    assert got[("livekit_cloud_sessions_active", project)] == 20
    assert got[("livekit_cloud_participants_active", project)] == sum(i % 7 for i in range(20))
    assert got[("livekit_cloud_egress_active", project)] == 20
    mic = (("project", "p"), ("track_source", "microphone"))
    assert got[("livekit_cloud_publishers", mic)] == 20
    per_session = {
        dict(labels)["session_id"]
        for name, labels in got
        if name == "livekit_cloud_session_participants_active"
    }
    assert per_session == shown


def test_a_cap_of_zero_exports_aggregates_only() -> None:
    """max-sessions 0 leaves out every per-session series."""
    snap = build_snapshot("p", [session("a"), session("b")], {}, 0)
    assert all(not name.startswith("livekit_cloud_session_") for name in names(snap))
    assert snap.omitted == 2


def test_every_help_names_the_source_and_the_poll() -> None:
    """Each HELP says the value comes from the Analytics API and is the last poll's."""
    text = render_chunk(fixture_snapshot().families()).text.raw.decode()
    helps = [line for line in text.splitlines() if line.startswith("# HELP")]
    assert len(helps) == 13
    for line in helps:
        assert "From LiveKit Cloud's Analytics API" in line, line
        assert "last successful poll" in line, line


def test_timestamps_keep_sub_second_precision() -> None:
    """Start and last-active timestamps are float seconds, fractions included."""
    got = samples(build_snapshot("p", [session("a")], {}, 1))
    labels = (("project", "p"), ("room", "room-a"), ("session_id", "a"))
    assert got[("livekit_cloud_session_last_active_timestamp_seconds", labels)] == 1800000060.25
    assert got[("livekit_cloud_session_start_timestamp_seconds", labels)] == 1800000000.0
