"""``--demo``: targets for the projects of the built-in simulator, started in this process.

A first look at the product must work without an account or network access. The simulator
(:mod:`exporter.simulator`) serves both APIs on free loopback ports with credentials generated
for this run; the exporter then polls it like the real thing, through the same code paths.
This module is imported only when ``--demo`` is given, and with it the simulator.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

import anyio.abc

from exporter.config.secrets import Secret
from exporter.config.settings import Settings
from exporter.config.targets import Loaded, TargetSettings
from exporter.logs import get_logger
from exporter.simulator import SimulatorConfig, SimulatorEndpoints, run_simulator
from exporter.sources.livekit.settings import LiveKitCredentials, LiveKitSettings
from exporter.sources.livekit.source import KIND as LIVEKIT
from exporter.sources.livepeer.settings import LivepeerSettings, key_identity
from exporter.sources.livepeer.source import KIND as LIVEPEER

__all__ = [
    "DEMO_PROJECTS",
    "DEMO_REQUESTS_PER_MINUTE",
    "demo_config",
    "demo_settings",
    "start_simulator",
]

DEMO_PROJECTS: Final = 2
DEMO_REQUESTS_PER_MINUTE: Final = 1000
"""The simulator's quota is ours alone, so refresh every session's details on every poll."""


def demo_config() -> SimulatorConfig:
    """A small, lively world: enough rooms and streams to fill the dashboards, in two projects
    of each API so the dashboards' ``target`` variable has something to choose from."""
    return SimulatorConfig(
        seed=2026,
        livekit_sessions=25,
        livepeer_sessions=25,
        livekit_projects=DEMO_PROJECTS,
        livepeer_projects=DEMO_PROJECTS,
    )


async def start_simulator(tg: anyio.abc.TaskGroup, settings: Settings) -> Settings:
    """Start the simulator in ``tg``; returns ``settings`` pointed at it."""
    endpoints: SimulatorEndpoints = await tg.start(run_simulator, demo_config())
    get_logger().info(
        "demo_simulator_started",
        livekit_url=endpoints.livekit_url,
        livepeer_url=endpoints.livepeer_url,
    )
    return demo_settings(settings, endpoints)


def demo_settings(settings: Settings, endpoints: SimulatorEndpoints) -> Settings:
    """``settings`` with one target per project of the running simulator."""
    livekit = settings.of(LiveKitSettings)
    livepeer = settings.of(LivepeerSettings)
    targets: list[TargetSettings] = []
    for project in endpoints.livekit_projects:
        credentials = LiveKitCredentials(
            project_id=project.project_id,
            api_key=project.api_key,
            api_secret=Secret(project.api_secret),
        )
        options = replace(
            livekit,
            credentials=credentials,
            url=endpoints.livekit_url,
            requests_per_minute=max(livekit.requests_per_minute, DEMO_REQUESTS_PER_MINUTE),
        )
        targets.append(TargetSettings(LIVEKIT, project.project_id, project.project_id, options))
    for index, studio in enumerate(endpoints.livepeer_projects):
        key = Secret(studio.api_key)
        name = livepeer.target_name if index == 0 else f"{livepeer.target_name}-{index + 1}"
        studio_options = replace(
            livepeer, api_key=key, target_name=name, url=endpoints.livepeer_url
        )
        targets.append(TargetSettings(LIVEPEER, name, key_identity(key), studio_options))
    loaded = Loaded(tuple(targets), (), 0.0)
    return replace(settings, loaded=loaded, load=lambda: loaded)
