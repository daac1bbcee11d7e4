"""The LiveKit snapshot builder: aggregates over active sessions, and the max-sessions cap."""

from __future__ import annotations

from exporter.sources.livekit.snapshot import build_snapshot
from exporter.sources.livekit.wire import Publishers, SessionDetails
from tests.unit.sources.livekit.fake_api import TARGET, fixture_snapshot, listed, values


def test_aggregates_count_active_sessions_only() -> None:
    """Aggregates sum active sessions; the ended one of the fixtures counts for nothing."""
    got = values(fixture_snapshot())
    assert got["livekit_cloud_sessions_active"] == {("p_abc", TARGET): 4}
    assert got["livekit_cloud_participants_active"] == {("p_abc", TARGET): 2 + 4 + 1 + 0}
    assert got["livekit_cloud_egress_active"] == {("p_abc", TARGET): 1}
    assert got["livekit_cloud_publishers"] == {
        ("p_abc", TARGET, "camera"): 2 + 1,
        ("p_abc", TARGET, "microphone"): 2,
        ("p_abc", TARGET, "screen_share"): 1 + 1,
        ("p_abc", TARGET, "screen_share_audio"): 1,
    }
    assert not any("RM_o4qeUZCBDopa" in key for series in got.values() for key in series), (
        "an ended session has no series"
    )


def test_cap_keeps_the_busiest_sessions_and_exact_aggregates() -> None:
    """Over the cap, the sessions with most active participants keep their series; the
    rest are counted in omitted, and aggregates still include every session."""
    active = [listed(f"s{i}", active_participants=i % 7, egress=1) for i in range(20)]
    details = {s.session_id: SessionDetails(Publishers(microphone=1), None, None) for s in active}
    snap = build_snapshot("p", active, details, 5)
    shown = {view.session.session_id for view in snap.shown}
    busiest = sorted(active, key=lambda s: (-s.num_active_participants, s.session_id))[:5]
    assert shown == {s.session_id for s in busiest}
    assert min(s.num_active_participants for s in busiest) == 5
    assert (snap.sessions, snap.omitted) == (20, 15)
    got = values(snap)
    assert got["livekit_cloud_sessions_active"] == {("p", TARGET): 20}
    assert got["livekit_cloud_participants_active"] == {
        ("p", TARGET): sum(i % 7 for i in range(20))
    }
    assert got["livekit_cloud_egress_active"] == {("p", TARGET): 20}
    assert got["livekit_cloud_publishers"][("p", TARGET, "microphone")] == 20
    per_session = {key[2] for key in got["livekit_cloud_session_participants_active"]}
    assert per_session == shown


def test_a_cap_of_zero_exports_aggregates_only() -> None:
    """max-sessions 0 leaves out every per-session series."""
    snap = build_snapshot("p", [listed("a"), listed("b")], {}, 0)
    assert all(not name.startswith("livekit_cloud_session_") for name in values(snap))
    assert snap.omitted == 2
