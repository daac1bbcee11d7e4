"""The LiveKit Cloud source: one project's Analytics API (list sessions, session details).

``SPEC`` is all the rest of the exporter knows of it: its flags and secret, how its settings
are parsed, and how a poller for one project is built.
"""

from __future__ import annotations

from typing import Final

from exporter.sources.base import SourceSpec
from exporter.sources.livekit import settings
from exporter.sources.livekit.source import KIND, LiveKitSource

__all__ = ["SPEC"]

SPEC: Final = SourceSpec(
    kind=KIND,
    section="livekit",
    flags=settings.FLAGS,
    secrets=settings.SECRETS,
    enable_hint=settings.ENABLE_HINT,
    configure=settings.parse_settings,
    build=LiveKitSource,
)
