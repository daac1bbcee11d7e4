"""The Livepeer metric families: names, types, labels, HELP texts and exact golden output."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from exporter.exposition.render import render_chunk
from exporter.sources.livepeer.metrics import families
from exporter.sources.livepeer.snapshot import LivepeerSnapshot, Windows, build_snapshot
from exporter.sources.livepeer.wire import parse_page
from tests.conftest import Golden
from tests.unit.sources.livepeer.fake_studio import NOW, PROJECT, fixture_bytes, session

WINDOWS = Windows(active_window=90.0, recording_lookback=6 * 3600.0, max_sessions=1000)
SESSION_LABELS = ["target", "project", "stream_id", "stream_name", "session_id"]
CONTRACT = {
    # name (as exposed, counters with _total): (type, labels in declared order, target first)
    "livepeer_studio_sessions_active": ("gauge", ["target", "project", "health"]),
    "livepeer_studio_ingest_rate_bytes_per_second": ("gauge", ["target", "project"]),
    "livepeer_studio_outgoing_rate_bytes_per_second": ("gauge", ["target", "project"]),
    "livepeer_studio_recordings": ("gauge", ["target", "project", "status"]),
    "livepeer_studio_session_healthy": ("gauge", SESSION_LABELS),
    "livepeer_studio_session_issues": ("gauge", SESSION_LABELS),
    "livepeer_studio_session_ingest_rate_bytes_per_second": ("gauge", SESSION_LABELS),
    "livepeer_studio_session_outgoing_rate_bytes_per_second": ("gauge", SESSION_LABELS),
    "livepeer_studio_session_source_bytes_total": ("counter", SESSION_LABELS),
    "livepeer_studio_session_transcoded_bytes_total": ("counter", SESSION_LABELS),
    "livepeer_studio_session_source_segments_total": ("counter", SESSION_LABELS),
    "livepeer_studio_session_transcoded_segments_total": ("counter", SESSION_LABELS),
    "livepeer_studio_session_source_duration_seconds_total": ("counter", SESSION_LABELS),
    "livepeer_studio_session_transcoded_duration_seconds_total": ("counter", SESSION_LABELS),
    "livepeer_studio_session_start_timestamp_seconds": ("gauge", SESSION_LABELS),
    "livepeer_studio_session_last_seen_timestamp_seconds": ("gauge", SESSION_LABELS),
    "livepeer_studio_session_recording_status": ("gauge", [*SESSION_LABELS, "status"]),
    "livepeer_studio_session_info": ("gauge", [*SESSION_LABELS, "playback_id", "record"]),
}


def snapshot_of(fixture: str) -> LivepeerSnapshot:
    return build_snapshot(parse_page(fixture_bytes(fixture)).sessions, now=NOW, windows=WINDOWS)


def text(families: Iterable[Metric]) -> str:
    return render_chunk(families).text.raw.decode()


def exposed(family: Metric) -> str:
    return family.name + ("_total" if family.type == "counter" else "")


def declared_labels(family: Metric) -> tuple[str, ...]:
    """The label names ``family`` was declared with (prometheus_client keeps them private)."""
    assert isinstance(family, GaugeMetricFamily | CounterMetricFamily), family.name
    return family._labelnames


def test_every_contract_family_with_its_type_and_labels() -> None:
    """A full snapshot renders exactly the contract's families, types and label names,
    ``target`` first."""
    snap = build_snapshot(
        [session("a", healthy=False, record=True, recording_status="ready")],
        now=NOW,
        windows=WINDOWS,
    )
    found = {exposed(f): f for f in families(snap, "prod")}
    assert set(found) == set(CONTRACT)
    for name, (kind, labels) in CONTRACT.items():
        assert found[name].type == kind, name
        assert found[name].samples, name
        assert list(declared_labels(found[name])) == labels, name
        for sample in found[name].samples:
            assert list(sample.labels) == labels, name
            assert sample.labels["target"] == "prod", name


def test_help_says_where_the_value_comes_from_and_when() -> None:
    """Every HELP names Livepeer Studio's sessions API and the last successful poll."""
    for family in families(snapshot_of("two_sessions.json"), "prod"):
        assert "Livepeer Studio's sessions API" in family.documentation
        assert "last successful poll" in family.documentation


def test_research_example_matches_golden(golden: Golden) -> None:
    """A live unhealthy session and an ended recorded one render exactly."""
    golden.check(
        "livepeer_two_sessions.prom", text(families(snapshot_of("two_sessions.json"), "prod"))
    )


def test_all_fields_and_hostile_stream_name_match_golden(golden: Golden) -> None:
    """Every schema field, a quoted, back-slashed, multi-line unicode stream name, escaped."""
    out = text(families(snapshot_of("openapi_all_fields.json"), "prod"))
    golden.check("livepeer_all_fields.prom", out)
    names = {
        s.labels["stream_name"]
        for f in text_string_to_metric_families(out)
        for s in f.samples
        if "stream_name" in s.labels
    }
    assert names == {'Übertragung "main" \\ stage\nline 2 カメラ'}
    assert "STREAM-KEY" not in out
    assert "PULL-TOKEN" not in out


def test_empty_snapshot_matches_golden(golden: Golden) -> None:
    """With no session, only the project aggregates render, at 0, for project ""."""
    out = text(families(build_snapshot([], now=NOW, windows=WINDOWS), "prod"))
    golden.check("livepeer_empty.prom", out)
    values = {
        (f.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(out)
        for s in f.samples
    }
    assert len(values) == 3 + 1 + 1 + 5
    assert set(values.values()) == {0.0}
    assert all(dict(labels)["project"] == "" for _, labels in values)


def test_healthy_is_absent_when_health_is_unknown() -> None:
    """session_healthy is 1 or 0 for known health and has no series for unknown health."""
    sessions = [session("up", healthy=True), session("down"), session("idk", healthy=None)]
    sessions[1] = session("down", healthy=False)
    snap = build_snapshot(sessions, now=NOW, windows=WINDOWS)
    (healthy,) = (f for f in families(snap, "prod") if f.name == "livepeer_studio_session_healthy")
    assert {s.labels["session_id"]: s.value for s in healthy.samples} == {"up": 1.0, "down": 0.0}
    (issues,) = (f for f in families(snap, "prod") if f.name == "livepeer_studio_session_issues")
    assert len(issues.samples) == 3


def test_recording_state_set_has_all_five_states_once_per_session() -> None:
    """Each tracked recorded session has five status series, exactly one of them 1."""
    sessions = [
        session("w", record=True),
        session("r", record=True, recording_status="ready", last_seen_ms=(NOW - 600) * 1000),
        session("n", record=True, recording_status="none", last_seen_ms=(NOW - 900) * 1000),
    ]
    snap = build_snapshot(sessions, now=NOW, windows=WINDOWS)
    (family,) = (
        f for f in families(snap, "prod") if f.name == "livepeer_studio_session_recording_status"
    )
    states: dict[str, dict[str, float]] = {}
    for s in family.samples:
        states.setdefault(s.labels["session_id"], {})[s.labels["status"]] = s.value
    assert states == {
        "w": {"waiting": 1, "ready": 0, "failed": 0, "deleted": 0, "none": 0},
        "r": {"waiting": 0, "ready": 1, "failed": 0, "deleted": 0, "none": 0},
        "n": {"waiting": 0, "ready": 0, "failed": 0, "deleted": 0, "none": 1},
    }


def test_info_covers_active_and_tracked_sessions_once() -> None:
    """session_info is 1 per active or tracked session, with playback_id and record."""
    sessions = [
        session("live", record=True),
        session("ended", record=True, last_seen_ms=(NOW - 600) * 1000),
        session("plain"),
        session("gone", last_seen_ms=(NOW - 600) * 1000),
    ]
    snap = build_snapshot(sessions, now=NOW, windows=WINDOWS)
    (info,) = (f for f in families(snap, "prod") if f.name == "livepeer_studio_session_info")
    assert {
        s.labels["session_id"]: (s.labels["playback_id"], s.labels["record"]) for s in info.samples
    } == {
        "live": ("pb-live", "true"),
        "ended": ("pb-ended", "true"),
        "plain": ("pb-plain", "false"),
    }
    assert {s.value for s in info.samples} == {1.0}


def test_timestamps_are_seconds_and_missing_creation_is_left_out() -> None:
    """createdAt and lastSeen become Unix seconds; no createdAt means no start series."""
    snap = build_snapshot(
        [session("a", created_at_ms=1759999755000.0), session("b", created_at_ms=None)],
        now=NOW,
        windows=WINDOWS,
    )
    values = {
        (f.name, s.labels["session_id"]): s.value
        for f in families(snap, "prod")
        for s in f.samples
        if f.name.endswith("timestamp_seconds")
    }
    start, seen = "livepeer_studio_session_start", "livepeer_studio_session_last_seen"
    assert values == {
        (f"{start}_timestamp_seconds", "a"): 1759999755.0,
        (f"{seen}_timestamp_seconds", "a"): NOW - 10,
        (f"{seen}_timestamp_seconds", "b"): NOW - 10,
    }


def test_capped_snapshot_has_no_series_of_omitted_sessions() -> None:
    """Sessions left out by the cap have no series, while the aggregates count them."""
    sessions = [session(f"s{i}", ingest_rate=float(i)) for i in range(5)]
    snap = build_snapshot(sessions, now=NOW, windows=Windows(90.0, 3600.0, 2))
    out = text(families(snap, "prod"))
    assert 'session_id="s4"' in out
    assert 'session_id="s3"' in out
    for omitted in ("s0", "s1", "s2"):
        assert f'session_id="{omitted}"' not in out
    assert (
        f'livepeer_studio_sessions_active{{health="healthy",project="{PROJECT}",target="prod"}} 5.0'
        in out
    )
    assert (
        f'livepeer_studio_ingest_rate_bytes_per_second{{project="{PROJECT}",target="prod"}} 10.0'
        in out
    )
