"""``--demo``: point both sources at the built-in simulator, started in this process.

A first look at the product must work without an account or network access. The simulator
(:mod:`exporter.simulator`) serves both APIs on free loopback ports with credentials generated
for this run; the exporter then polls it like the real thing, through the same code paths.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from exporter.config.settings import LiveKitCredentials, Secret, Settings
from exporter.simulator import SimulatorConfig, SimulatorEndpoints

__all__ = ["DEMO_REQUESTS_PER_MINUTE", "demo_config", "demo_settings"]

DEMO_REQUESTS_PER_MINUTE: Final = 1000
"""The simulator's quota is ours alone, so refresh every session's details on every poll."""


def demo_config() -> SimulatorConfig:
    """A small, lively world: enough rooms and streams to fill the dashboards."""
    return SimulatorConfig(seed=2026, livekit_sessions=25, livepeer_sessions=25)


def demo_settings(settings: Settings, endpoints: SimulatorEndpoints) -> Settings:
    """``settings`` with both sources pointed at the running simulator."""
    credentials = LiveKitCredentials(
        project_id=endpoints.livekit_project_id,
        api_key=endpoints.livekit_api_key,
        api_secret=Secret(endpoints.livekit_api_secret),
    )
    livekit = replace(
        settings.livekit,
        credentials=credentials,
        url=endpoints.livekit_url,
        requests_per_minute=max(settings.livekit.requests_per_minute, DEMO_REQUESTS_PER_MINUTE),
    )
    livepeer = replace(
        settings.livepeer, api_key=Secret(endpoints.livepeer_api_key), url=endpoints.livepeer_url
    )
    return replace(settings, livekit=livekit, livepeer=livepeer)
