"""Snapshot → exposition bytes, rendered once per snapshot; a scrape adds only the live part.

A poll's families are encoded once (text 0.0.4 and OpenMetrics 1.0) by prometheus-client's own
encoders, off the event loop, and also deflated. A scrape then joins the cached pieces of the
fresh targets with the small live part: process and Python collectors rendered on the spot,
and the self-metrics, whose rendering is reused until they change. For gzip, each cached piece
is a raw deflate stream ended by a full flush (byte aligned, no back-references beyond itself),
so the pieces plus the live part's final block form one valid deflate stream; the CRC-32 of
the whole is carried forward, not recomputed. A scrape's cost therefore does not grow with
upstream data beyond handing cached bytes to the server.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from prometheus_client import CollectorRegistry
from prometheus_client import exposition as text_format
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as om_format
from prometheus_client.registry import Collector

from exporter.exposition.store import Published

__all__ = [
    "CONTENT_TYPES",
    "Chunk",
    "Encoded",
    "Exposition",
    "Format",
    "render_chunk",
]

Format = Literal["text", "openmetrics"]
CONTENT_TYPES: Final[dict[Format, str]] = {
    "text": "text/plain; version=0.0.4; charset=utf-8",
    "openmetrics": "application/openmetrics-text; version=1.0.0; charset=utf-8",
}
_EOF: Final = b"# EOF\n"
_om_generate: Callable[[Collector], bytes] = om_format.generate_latest  # untyped upstream
_GZIP_HEADER: Final = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, mtime 0, OS unknown
_CACHED_LEVEL: Final = 6  # cached pieces are compressed once, so spend the CPU
_LIVE_LEVEL: Final = 1  # the live part is compressed per scrape and small: be quick


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
    openmetrics = _om_generate(collected).removesuffix(_EOF)
    return Chunk(Encoded.of(text_format.generate_latest(collected)), Encoded.of(openmetrics))


@dataclass(frozen=True, slots=True)
class _Joined:
    """The cached pieces of a set of chunks in one format, with their combined CRC and size."""

    chunks: tuple[Chunk, ...]
    """The chunks themselves, not their ids: holding them keeps an id from being reused by a
    new chunk while this entry could still be mistaken for it."""
    raw: tuple[bytes, ...]
    deflated: tuple[bytes, ...]
    crc: int
    size: int


def _join(chunks: tuple[Chunk, ...], fmt: Format) -> _Joined:
    encoded = [chunk.get(fmt) for chunk in chunks]
    # The first piece's CRC is reused; zlib continues it over the rest, once per new set.
    crc = encoded[0].crc if encoded else 0
    for piece in encoded[1:]:
        crc = zlib.crc32(piece.raw, crc)
    return _Joined(
        chunks,
        tuple(piece.raw for piece in encoded),
        tuple(piece.deflated for piece in encoded),
        crc,
        sum(len(piece.raw) for piece in encoded),
    )


def _same(cached: tuple[Chunk, ...], fresh: tuple[Chunk, ...]) -> bool:
    """Identity, not equality: comparing the bytes would cost what the cache saves."""
    return len(cached) == len(fresh) and all(a is b for a, b in zip(cached, fresh, strict=True))


class Exposition:
    """Builds scrape responses from the fresh published chunks and the live registries.

    ``registry`` holds the self-metrics: given ``changes`` (a count that moves with every
    update of them), its rendering is reused until the count moves, since between polls
    scrapes would re-render the same values. ``standard`` (process and Python collectors,
    whose values move by themselves) is rendered on every scrape.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        standard: CollectorRegistry | None = None,
        changes: Callable[[], int] | None = None,
    ) -> None:
        self._registry = registry
        self._standard = standard
        self._changes = changes
        self._own: dict[Format, tuple[int, bytes]] = {}
        self._joined: dict[Format, _Joined] = {}

    def body(self, fresh: Sequence[Published], fmt: Format, *, gzip: bool) -> tuple[bytes, ...]:
        """The response body as pieces to send in order (no copy of the cached bytes)."""
        chunks = tuple(published.chunk for published in fresh)
        joined = self._joined.get(fmt)
        if joined is None or not _same(joined.chunks, chunks):
            joined = _join(chunks, fmt)
            # an entry of another format built from older chunks would pin them (tens of MB
            # with thousands of sessions) until that format is scraped again, maybe never
            self._joined = {f: j for f, j in self._joined.items() if _same(j.chunks, chunks)}
            self._joined[fmt] = joined
        live = self._live(fmt)
        if not gzip:
            return (*joined.raw, live)
        compressor = zlib.compressobj(_LIVE_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        tail = compressor.compress(live) + compressor.flush()
        crc = zlib.crc32(live, joined.crc)
        size = (joined.size + len(live)) & 0xFFFFFFFF
        return (_GZIP_HEADER, *joined.deflated, tail, struct.pack("<II", crc, size))

    def _live(self, fmt: Format) -> bytes:
        """The standard collectors, then the self-metrics (OpenMetrics: then the one EOF)."""
        own = self._self_metrics(fmt)
        if self._standard is None:
            return own
        return _render(self._standard, fmt).removesuffix(_EOF) + own

    def _self_metrics(self, fmt: Format) -> bytes:
        if self._changes is None:
            return _render(self._registry, fmt)
        changes = self._changes()
        cached = self._own.get(fmt)
        if cached is None or cached[0] != changes:
            cached = (changes, _render(self._registry, fmt))
            self._own[fmt] = cached
        return cached[1]


def _render(registry: CollectorRegistry, fmt: Format) -> bytes:
    if fmt == "text":
        return text_format.generate_latest(registry)
    return _om_generate(registry)  # ends with "# EOF"
