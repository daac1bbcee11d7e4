"""A snapshot's families rendered once into a chunk of both formats."""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families as text_parse

from exporter.exposition.render import render_chunk
from exporter.exposition.scrape import Exposition
from tests.conftest import Golden
from tests.support.exposition import HOSTILE, families, join, publish
from tests.support.fakes import FakeSnapshot


def test_chunk_text_matches_golden(golden: Golden) -> None:
    """A chunk renders text 0.0.4 exactly, hostile label values escaped."""
    chunk = render_chunk(families())
    golden.check("chunk.prom", chunk.text.raw.decode())
    parsed = {
        s.labels.get("room"): s.value
        for f in text_parse(chunk.text.raw.decode())
        for s in f.samples
    }
    assert parsed[HOSTILE] == 1260393
    assert parsed["x" * 1024] == 2.5e18


def test_chunk_openmetrics_matches_golden(golden: Golden) -> None:
    """The OpenMetrics rendering has no # EOF of its own; the exposition adds exactly one."""
    chunk = render_chunk(families())
    text = chunk.openmetrics.raw.decode()
    golden.check("chunk.om.txt", text)
    assert "# EOF" not in text
    body = join(
        Exposition(CollectorRegistry()).body(
            [publish(FakeSnapshot({"a": 1}))], "openmetrics", gzip=False
        )
    )
    assert body.endswith(b"# EOF\n")
    assert body.count(b"# EOF") == 1
