"""Families → exposition bytes: a snapshot's chunk, encoded once in both formats.

A poll's families are encoded once (text 0.0.4 and OpenMetrics 1.0) by prometheus-client's own
encoders, off the event loop, and also deflated: each format's bytes are kept beside a raw
deflate stream ended by a full flush (byte aligned, no back-references beyond itself), so
:mod:`exporter.exposition.scrape` can splice the pieces of many chunks into one gzip body
without compressing them again.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from prometheus_client import exposition as text_format
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as om_format
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPES", "EOF", "Chunk", "Encoded", "Format", "render_chunk"]

Format = Literal["text", "openmetrics"]
CONTENT_TYPES: Final[dict[Format, str]] = {
    "text": "text/plain; version=0.0.4; charset=utf-8",
    "openmetrics": "application/openmetrics-text; version=1.0.0; charset=utf-8",
}
EOF: Final = b"# EOF\n"
om_generate: Callable[[Collector], bytes] = om_format.generate_latest  # untyped upstream
_CACHED_LEVEL: Final = 6  # cached pieces are compressed once, so spend the CPU


@dataclass(frozen=True, slots=True)
class Encoded:
    """Bytes of one format, plus their full-flushed raw deflate stream and CRC-32."""

    raw: bytes
    deflated: bytes
    crc: int

    @classmethod
    def of(cls, raw: bytes) -> Encoded:
        compressor = zlib.compressobj(_CACHED_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        deflated = compressor.compress(raw) + compressor.flush(zlib.Z_FULL_FLUSH)
        return cls(raw, deflated, zlib.crc32(raw))


@dataclass(frozen=True, slots=True)
class Chunk:
    """One snapshot's data series, in both exposition formats."""

    text: Encoded
    openmetrics: Encoded

    def get(self, fmt: Format) -> Encoded:
        return self.text if fmt == "text" else self.openmetrics


class _Families(Collector):
    """Adapts a list of families to the registry shape prometheus-client's encoders take."""

    def __init__(self, families: Sequence[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


def render_chunk(families: Iterable[Metric]) -> Chunk:
    """Encode a snapshot's families once; CPU-bound, so callers run it in a worker thread."""
    collected = _Families(list(families))
    openmetrics = om_generate(collected).removesuffix(EOF)
    return Chunk(Encoded.of(text_format.generate_latest(collected)), Encoded.of(openmetrics))
