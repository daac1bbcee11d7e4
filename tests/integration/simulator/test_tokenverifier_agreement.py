"""LiveKit's own ``TokenVerifier`` and the simulator agree on which tokens are valid."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import anyio
import httpx
import jwt
import pytest
from livekit.api import AccessToken, TokenVerifier, VideoGrants

from exporter.simulator import Simulator, SimulatorConfig, SimulatorEndpoints

OTHER_SECRET = "another-secret-of-at-least-32-bytes-long"


@pytest.fixture
async def endpoints(wall_clock_config: SimulatorConfig) -> AsyncIterator[SimulatorEndpoints]:
    """A simulator on the wall clock, since ``TokenVerifier`` reads the wall clock."""
    sim = Simulator(wall_clock_config)
    async with anyio.create_task_group() as tg:
        yield await tg.start(sim.run)
        tg.cancel_scope.cancel()


def mint(key: str, secret: str, ttl: dt.timedelta) -> str:
    return (
        AccessToken(key, secret)
        .with_identity("livesession-exporter")
        .with_grants(VideoGrants(room_list=True))
        .with_ttl(ttl)
        .to_jwt()
    )


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("case", "valid"),
    [("valid", True), ("expired", False), ("wrong key", False), ("wrong secret", False)],
)
async def test_the_simulator_agrees_with_token_verifier(
    endpoints: SimulatorEndpoints, case: str, valid: bool
) -> None:
    """A token the verifier accepts gets 200, one it rejects gets 401, for each case."""
    key, secret = endpoints.livekit_api_key, endpoints.livekit_api_secret
    token = {
        "valid": lambda: mint(key, secret, dt.timedelta(minutes=10)),
        "expired": lambda: mint(key, secret, dt.timedelta(hours=-1)),
        "wrong key": lambda: mint("APIsomebodyelse", secret, dt.timedelta(minutes=10)),
        "wrong secret": lambda: mint(key, OTHER_SECRET, dt.timedelta(minutes=10)),
    }[case]()
    try:
        TokenVerifier(key, secret).verify(token)
        verifier_accepts = True
    except jwt.PyJWTError:
        verifier_accepts = False
    url = f"{endpoints.livekit_url}/api/project/{endpoints.livekit_project_id}/sessions"
    async with httpx.AsyncClient() as client:
        response = await client.get(url, headers={"Authorization": f"Bearer {token}"})
    assert verifier_accepts is valid
    assert response.status_code == (200 if verifier_accepts else 401)
