"""A run's configuration and its credentials."""

from __future__ import annotations

import pytest

from exporter.simulator import SimulatorConfig
from exporter.simulator.config import make_credentials


def test_configuration_problems_are_all_reported() -> None:
    """Bad sizes, ports, fractions and short secrets are refused in one message."""
    with pytest.raises(ValueError, match="livekit_sessions") as caught:
        SimulatorConfig(
            livekit_sessions=-1, livepeer_port=70000, active_fraction=0, livekit_api_secret="x"
        )
    message = str(caught.value)
    for part in ("livepeer_port", "active_fraction", "at least 32 bytes"):
        assert part in message


def test_credentials_are_generated_per_run_unless_given() -> None:
    """Each run gets fresh credentials, with a LiveKit secret of at least 32 bytes."""
    first, second = make_credentials(SimulatorConfig()), make_credentials(SimulatorConfig())
    assert first.livekit_api_secret != second.livekit_api_secret
    assert first.livepeer_api_key != second.livepeer_api_key
    assert len(first.livekit_api_secret.encode()) >= 32
    assert first.livekit_project_id.startswith("p_")
    assert first.livekit_api_key.startswith("API")
    given = make_credentials(SimulatorConfig(livekit_api_key="APIfixed", livepeer_api_key="k"))
    assert (given.livekit_api_key, given.livepeer_api_key) == ("APIfixed", "k")
    assert "livekit_api_secret" not in repr(first)
    assert first.livekit_api_secret not in repr(first)
