"""Upstream sources: each polls one API for one target and returns an immutable Snapshot.

The protocol a source implements is in :mod:`exporter.sources.base`; the composition root
(:mod:`exporter.app`) lists the sources it builds in ``SOURCES``.
"""

from __future__ import annotations

from exporter.sources.base import SourceSpec

__all__ = ["SourceSpec"]
