"""Families → exposition bytes: a snapshot's chunk, encoded once in both formats.

A poll's families are encoded once (text 0.0.4 and OpenMetrics 1.0) by prometheus-client's own
encoders, off the event loop, and also deflated. Each family is kept as two pieces, its header
(``HELP``/``TYPE`` lines) and its samples, because a scrape merges the chunks of several
targets family by family: a family's samples must follow its one header, whichever targets
they come from. Every piece is kept beside a raw deflate stream ended by a full flush (byte
aligned, no back-references beyond itself), so :mod:`exporter.exposition.scrape` can splice
the pieces of many chunks into one gzip body without compressing them again.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Literal

from prometheus_client import exposition as text_format
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as om_format
from prometheus_client.registry import Collector

__all__ = [
    "CONTENT_TYPES",
    "EOF",
    "Chunk",
    "Encoded",
    "FamilyBytes",
    "Format",
    "Piece",
    "render_chunk",
]

Format = Literal["text", "openmetrics"]
CONTENT_TYPES: Final[dict[Format, str]] = {
    "text": "text/plain; version=0.0.4; charset=utf-8",
    "openmetrics": "application/openmetrics-text; version=1.0.0; charset=utf-8",
}
EOF: Final = b"# EOF\n"
om_generate: Callable[[Collector], bytes] = om_format.generate_latest  # untyped upstream
_CACHED_LEVEL: Final = 6  # cached pieces are compressed once, so spend the CPU


@dataclass(frozen=True, slots=True)
class Piece:
    """Some exposition bytes and their full-flushed raw deflate stream."""

    raw: bytes
    deflated: bytes


@dataclass(frozen=True, slots=True)
class FamilyBytes:
    """One family in one format: its header lines, then its sample lines."""

    name: str
    header: Piece
    samples: Piece


@dataclass(frozen=True, slots=True)
class Encoded:
    """A chunk's families in one format, in the order they were rendered."""

    families: tuple[FamilyBytes, ...]

    @property
    def raw(self) -> bytes:
        """The whole chunk as one exposition (tests, and one target's view of its data)."""
        return b"".join(f.header.raw + f.samples.raw for f in self.families)


@dataclass(frozen=True, slots=True)
class Chunk:
    """One snapshot's data series, in both exposition formats."""

    text: Encoded
    openmetrics: Encoded

    def get(self, fmt: Format) -> Encoded:
        return self.text if fmt == "text" else self.openmetrics


class _Family(Collector):
    """Adapts one family to the registry shape prometheus-client's encoders take."""

    def __init__(self) -> None:
        self.family: list[Metric] = []

    def collect(self) -> Iterable[Metric]:
        return self.family


class _Deflater:
    """Deflates pieces one after another; a full flush ends each, so each stands alone."""

    def __init__(self) -> None:
        # one compressor for the whole chunk: its set-up costs more than a small piece does
        self._compressor = zlib.compressobj(_CACHED_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)

    def piece(self, raw: bytes) -> Piece:
        compressor = self._compressor
        return Piece(raw, compressor.compress(raw) + compressor.flush(zlib.Z_FULL_FLUSH))


def render_chunk(families: Iterable[Metric]) -> Chunk:
    """Encode a snapshot's families once; CPU-bound, so callers run it in a worker thread."""
    one = _Family()
    text: list[FamilyBytes] = []
    openmetrics: list[FamilyBytes] = []
    text_deflater, om_deflater = _Deflater(), _Deflater()
    for family in families:
        one.family = [family]
        text.append(_split(family.name, text_format.generate_latest(one), text_deflater))
        om = om_generate(one).removesuffix(EOF)
        openmetrics.append(_split(family.name, om, om_deflater))
    return Chunk(Encoded(tuple(text)), Encoded(tuple(openmetrics)))


def _split(name: str, raw: bytes, deflater: _Deflater) -> FamilyBytes:
    """A family's bytes cut after its leading comment lines (HELP, TYPE, UNIT)."""
    end = 0
    while raw.startswith(b"#", end):
        end = raw.index(b"\n", end) + 1
    return FamilyBytes(name, deflater.piece(raw[:end]), deflater.piece(raw[end:]))
