"""LiveKit metric families: exact exposition, state sets, details series, HELP texts."""

from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from exporter.exposition.render import render_chunk
from exporter.sources.livekit.metrics import families
from exporter.sources.livekit.snapshot import LiveKitSnapshot, build_snapshot
from exporter.sources.livekit.wire import Publishers, SessionDetails
from tests.conftest import Golden
from tests.unit.sources.livekit.fake_api import fixture_snapshot, listed


def samples(snapshot: LiveKitSnapshot) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = render_chunk(families(snapshot, "prod")).text.raw.decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def declared_labels(family: Metric) -> tuple[str, ...]:
    """The label names ``family`` was declared with (prometheus_client keeps them private)."""
    assert isinstance(family, GaugeMetricFamily | CounterMetricFamily), family.name
    return family._labelnames


def test_fixture_snapshot_matches_golden(golden: Golden) -> None:
    """Every LiveKit family renders exactly as recorded, from every payload variant."""
    chunk = render_chunk(families(fixture_snapshot(), "prod"))
    golden.check("livekit_snapshot.prom", chunk.text.raw.decode())


def test_aggregates_are_present_and_zero_with_no_sessions() -> None:
    """A project with nothing active still exports every aggregate, at 0, and no session."""
    snap = build_snapshot("p_abc", [], {}, 1000)
    got = samples(snap)
    assert len(got) == 3 + 4
    assert set(got.values()) == {0.0}
    assert (snap.sessions, snap.omitted) == (0, 0)


def test_egress_is_a_state_set_with_every_state() -> None:
    """Each session has all three egress states, 1 for its current one."""
    snap = build_snapshot("p", [listed("a", egress=0), listed("b", egress=2)], {}, 10)
    got = samples(snap)

    def state(session_id: str, status: str) -> float:
        labels = (
            ("project", "p"),
            ("room", f"room-{session_id}"),
            ("session_id", session_id),
            ("status", status),
            ("target", "prod"),
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
    snap = build_snapshot("p", [listed("full"), listed("bare"), listed("none")], details, 10)
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
    full = (("project", "p"), ("room", "room-full"), ("session_id", "full"), ("target", "prod"))
    assert got[(seconds, full)] == 150.0
    assert got[(billable, full)] == 5000


def test_every_family_is_labelled_with_the_target_first() -> None:
    """Every family declares ``target`` as its first label, and every sample carries the
    target name given, so the same project or room under two targets never collides."""
    for target in ("prod", "staging-eu"):
        metrics = families(fixture_snapshot(), target)
        assert len(metrics) == 13
        for family in metrics:
            assert declared_labels(family)[0] == "target", family.name
            assert family.samples, family.name
            for sample in family.samples:
                assert list(sample.labels) == list(declared_labels(family)), family.name
                assert sample.labels["target"] == target, family.name


def test_every_help_names_the_source_and_the_poll() -> None:
    """Each HELP says the value comes from the Analytics API and is the last poll's."""
    text = render_chunk(families(fixture_snapshot(), "prod")).text.raw.decode()
    helps = [line for line in text.splitlines() if line.startswith("# HELP")]
    assert len(helps) == 13
    for line in helps:
        assert "From LiveKit Cloud's Analytics API" in line, line
        assert "last successful poll" in line, line


def test_timestamps_keep_sub_second_precision() -> None:
    """Start and last-active timestamps are float seconds, fractions included."""
    got = samples(build_snapshot("p", [listed("a")], {}, 1))
    labels = (("project", "p"), ("room", "room-a"), ("session_id", "a"), ("target", "prod"))
    assert got[("livekit_cloud_session_last_active_timestamp_seconds", labels)] == 1800000060.25
    assert got[("livekit_cloud_session_start_timestamp_seconds", labels)] == 1800000000.0
