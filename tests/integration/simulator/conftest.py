"""A running simulator on free loopback ports, driven by a fake clock, and clients for it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import quote

import anyio
import httpx
import jwt
import pytest

from exporter.simulator import FakeClock, Simulator, SimulatorConfig, SimulatorEndpoints


@dataclass
class Running:
    """A started simulator, its endpoints, its clock and request helpers."""

    sim: Simulator
    endpoints: SimulatorEndpoints
    clock: Callable[[], float]

    def token(self, *, ttl: float = 600, **claims: object) -> str:
        """A LiveKit token valid on the simulator's clock (claims may be overridden)."""
        now = int(self.clock())
        body: dict[str, object] = {
            "iss": self.endpoints.livekit_api_key,
            "sub": "livesession-exporter",
            "nbf": now - 5,
            "exp": now + int(ttl),
            "video": {"roomList": True},
        }
        body.update(claims)
        return jwt.encode(body, self.endpoints.livekit_api_secret, algorithm="HS256")

    def livekit_headers(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token()}"}

    def livepeer_headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.endpoints.livepeer_api_key}"}

    @property
    def sessions_url(self) -> str:
        e = self.endpoints
        return f"{e.livekit_url}/api/project/{e.livekit_project_id}/sessions"

    def details_url(self, session_id: str) -> str:
        return f"{self.sessions_url}/{quote(session_id, safe='').replace('.', '%2E')}"

    @property
    def livepeer_sessions_url(self) -> str:
        return f"{self.endpoints.livepeer_url}/session"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim_config(clock: FakeClock) -> SimulatorConfig:
    """Override in a module to change the world; the default is small and seeded."""
    return SimulatorConfig(seed=11, livekit_sessions=40, livepeer_sessions=40, clock=clock)


@pytest.fixture
async def running(sim_config: SimulatorConfig) -> AsyncIterator[Running]:
    sim = Simulator(sim_config)
    async with anyio.create_task_group() as tg:
        endpoints = await tg.start(sim.run)
        yield Running(sim, endpoints, sim_config.clock)
        tg.cancel_scope.cancel()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as http:
        yield http


@pytest.fixture
def wall_clock_config() -> SimulatorConfig:
    """A world on the real clock, for checks against wall-time verifiers."""
    return SimulatorConfig(seed=12, livekit_sessions=5, livepeer_sessions=5, clock=time.time)
