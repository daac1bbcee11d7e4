"""livesession-exporter: Prometheus metrics for LiveKit Cloud and Livepeer Studio sessions."""

from __future__ import annotations

__version__ = "0.1.0"
