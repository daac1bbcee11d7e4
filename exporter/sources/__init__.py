"""Upstream sources: each polls one API for one target and returns an immutable Snapshot.

:data:`SOURCES` is the one place a source is plugged in: the composition root builds a target
for every spec whose settings are configured, and nothing else names a source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from exporter.settings import Settings
from exporter.sources.base import Source, TargetContext

__all__ = ["SOURCES", "SourceSpec"]


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """How to recognise and build one kind of source from the settings."""

    kind: str
    """The ``source`` label value."""
    target: Callable[[Settings], str | None]
    """The ``target`` label value when this source is configured, else None."""
    build: Callable[[Settings, TargetContext], Source]


SOURCES: Final[tuple[SourceSpec, ...]] = ()
