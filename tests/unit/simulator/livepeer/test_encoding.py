"""Studio's JSON encoding carries the truth exactly, with whole numbers as ints or floats."""

from __future__ import annotations

from exporter.simulator import ABSENT, FakeClock
from exporter.simulator.livepeer.encoding import encode_session, livepeer_floats
from exporter.simulator.livepeer.world import LivepeerWorld


def test_livepeer_items_carry_the_truth_with_ints_or_floats() -> None:
    """Studio items hold the truth's values; some records write whole numbers as floats."""
    world = LivepeerWorld(seed=2, streams=200, clock=FakeClock(), active_fraction=0.8)
    kinds = set()
    for truth in world.sessions():
        floats = livepeer_floats(2, truth.id)
        item = encode_session(truth, floats)
        kinds.add(type(item["createdAt"]))
        assert item["lastSeen"] == truth.last_seen
        assert item["sourceBytes"] == truth.source_bytes
        assert item["ingestRate"] == truth.ingest_rate
        assert isinstance(item["createdAt"], float if floats else int)
        assert ("isHealthy" in item) == (truth.is_healthy is not ABSENT)
        assert ("recordingStatus" in item) == truth.record
        parent = item["parentStream"]
        assert isinstance(parent, dict)
        assert parent["name"] == truth.stream_name
        assert parent["streamKey"]
        assert parent["id"] == item["parentId"]
    assert kinds == {int, float}
