"""The Livepeer Studio source: one API key's stream sessions (``GET /session``).

``SPEC`` is all the rest of the exporter knows of it: its flags and secret, how its settings
are parsed, and how a poller for one key is built.
"""

from __future__ import annotations

from typing import Final

from exporter.sources.base import SourceSpec
from exporter.sources.livepeer import settings
from exporter.sources.livepeer.source import KIND, LivepeerSource

__all__ = ["SPEC"]

SPEC: Final = SourceSpec(
    kind=KIND,
    section="livepeer",
    flags=settings.FLAGS,
    secrets=settings.SECRETS,
    enable_hint=settings.ENABLE_HINT,
    configure=settings.parse_settings,
    build=LivepeerSource,
)
