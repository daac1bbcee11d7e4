"""A scrape's body: the cached chunks of the fresh targets, merged, then the small live part.

A scrape joins the cached pieces of the fresh targets (:mod:`exporter.exposition.render`) with
the live part: process and Python collectors rendered on the spot, and the self-metrics, whose
rendering is reused until they change. For gzip, the cached pieces are full-flushed raw
deflate streams, so they plus the live part's final block form one valid deflate stream. The
merge and its CRC-32 are computed once per set of chunks (after a poll), not per scrape, so a
scrape's cost does not grow with upstream data beyond handing cached bytes to the server.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from prometheus_client import CollectorRegistry
from prometheus_client import exposition as text_format

from exporter.exposition.render import EOF, Chunk, Format, Piece, om_generate
from exporter.exposition.store import Published

__all__ = ["Exposition"]

_GZIP_HEADER: Final = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # no name, mtime 0, OS unknown
_LIVE_LEVEL: Final = 1  # the live part is compressed per scrape and small: be quick


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
    """The chunks' families merged: each family's header once, then its samples from every
    chunk that has it, families in the order first seen (several targets of one source
    render the same families)."""
    merged: dict[str, list[Piece]] = {}
    for chunk in chunks:
        for family in chunk.get(fmt).families:
            pieces = merged.get(family.name)
            if pieces is None:
                pieces = merged[family.name] = [family.header]
            pieces.append(family.samples)
    ordered = [piece for pieces in merged.values() for piece in pieces]
    crc = 0
    for piece in ordered:
        crc = zlib.crc32(piece.raw, crc)
    return _Joined(
        chunks,
        tuple(piece.raw for piece in ordered),
        tuple(piece.deflated for piece in ordered),
        crc,
        sum(len(piece.raw) for piece in ordered),
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
        return _render(self._standard, fmt).removesuffix(EOF) + own

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
    return om_generate(registry)  # ends with "# EOF"
