"""A run's configuration and its credentials."""

from __future__ import annotations

import pytest

from exporter.simulator import LiveKitProject, LivepeerProject, SimulatorConfig
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


@pytest.mark.parametrize(
    ("field", "value"),
    [("livekit_projects", 0), ("livekit_projects", 1001), ("livepeer_projects", 0),
     ("livepeer_projects", -1), ("livepeer_projects", 1001)],
)  # fmt: skip
def test_project_counts_are_between_1_and_1000(field: str, value: int) -> None:
    """A run serves at least one project of each API and at most a thousand."""
    with pytest.raises(ValueError, match=f"{field} must be between 1 and 1,000"):
        SimulatorConfig(**{field: value})  # type: ignore[arg-type]
    assert getattr(SimulatorConfig(**{field: 1000}), field) == 1000  # type: ignore[arg-type]


def test_one_project_of_each_api_by_default() -> None:
    """The defaults describe the single-project simulator of before."""
    config = SimulatorConfig()
    assert (config.livekit_projects, config.livepeer_projects) == (1, 1)
    credentials = make_credentials(config)
    assert len(credentials.livekit) == len(credentials.livepeer) == 1
    assert credentials.livekit[0].api_key == credentials.livekit_api_key
    assert credentials.livepeer[0].cors_api_key == credentials.livepeer_cors_api_key


def test_every_project_has_its_own_credentials_and_fixed_ones_are_the_first_projects() -> None:
    """Ids, keys and secrets differ between projects; configured values apply to the first."""
    secret = "s" * 32
    config = SimulatorConfig(
        livekit_projects=3, livepeer_projects=4, livekit_project_id="p_fixed",
        livekit_api_key="APIfixed", livekit_api_secret=secret, livepeer_api_key="lp-fixed",
        livepeer_cors_api_key="lp-cors",
    )  # fmt: skip
    credentials = make_credentials(config)
    first, *others = credentials.livekit
    assert first == LiveKitProject(project_id="p_fixed", api_key="APIfixed", api_secret=secret)
    assert (credentials.livepeer[0].api_key, credentials.livepeer[0].cors_api_key) == (
        "lp-fixed",
        "lp-cors",
    )
    assert len(others) == 2
    assert len({p.project_id for p in credentials.livekit}) == 3
    assert len({p.api_key for p in credentials.livekit}) == 3
    assert len({p.api_secret for p in credentials.livekit}) == 3
    assert all(len(p.api_secret.encode()) >= 32 for p in others)
    assert all(p.project_id.startswith("p_") and p.api_key.startswith("API") for p in others)
    studio = {k for keys in credentials.livepeer for k in (keys.api_key, keys.cors_api_key)}
    assert len(studio) == 8
    shown = repr(credentials)
    assert all(p.api_secret not in shown for p in credentials.livekit)
    assert not any(key in shown for key in studio)


def test_project_values_keep_secrets_out_of_their_repr() -> None:
    livekit = LiveKitProject(project_id="p_x", api_key="APIk", api_secret="hush" * 8)
    livepeer = LivepeerProject(api_key="studio-key", project_id="proj")
    assert "hush" not in repr(livekit)
    assert "APIk" in repr(livekit)
    assert "studio-key" not in repr(livepeer)
    assert "proj" in repr(livepeer)
