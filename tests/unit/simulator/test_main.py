"""``python -m exporter.simulator``: the command line and what it prints at start."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest

from exporter.simulator import Fault, LiveKitProject, LivepeerProject, SimulatorEndpoints
from exporter.simulator.__main__ import config_from_args, format_endpoints


def test_command_line_builds_the_configuration() -> None:
    """Every option lands in the configuration; faults are parsed in order."""
    config = config_from_args(
        ["--seed", "7", "--livekit-sessions", "3", "--livepeer-sessions", "4", "--host", "::1",
         "--livekit-port", "9001", "--livepeer-port", "9002", "--snake-case",
         "--fault", "livekit.list=status:503", "--fault", "livepeer.list=latency:0.5"]
    )  # fmt: skip
    assert (config.seed, config.livekit_sessions, config.livepeer_sessions) == (7, 3, 4)
    assert (config.host, config.livekit_port, config.livepeer_port) == ("::1", 9001, 9002)
    assert config.livekit_snake_case
    assert (config.livekit_projects, config.livepeer_projects) == (1, 1)
    assert config.faults == (
        ("livekit.list", Fault(status=503)),
        ("livepeer.list", Fault(latency=0.5)),
    )


def test_project_counts_come_from_the_command_line() -> None:
    config = config_from_args(["--livekit-projects", "3", "--livepeer-projects", "2"])
    assert (config.livekit_projects, config.livepeer_projects) == (3, 2)


@pytest.mark.parametrize(
    "argv",
    [
        ["--fault", "livekit.list=explode"],
        ["--livekit-sessions", "-5"],
        ["--seed", "x"],
        ["--livekit-projects", "0"],
        ["--livepeer-projects", "1001"],
    ],
)
def test_bad_command_lines_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Bad arguments exit with status 2 and say why on stderr."""
    with pytest.raises(SystemExit) as caught:
        config_from_args(argv)
    assert caught.value.code == 2
    assert "error" in capsys.readouterr().err


def test_endpoints_are_printed_as_environment_lines() -> None:
    """The start-up output names URLs and credentials with the exporter's variable names."""
    endpoints = SimulatorEndpoints(
        livekit_url="http://127.0.0.1:1",
        livekit_project_id="p_x",
        livekit_api_key="APIk",
        livekit_api_secret="secret" * 6,
        livepeer_url="http://127.0.0.1:2/api",
        livepeer_api_key="lpkey",
    )
    out = io.StringIO(format_endpoints(endpoints))
    lines = dict(
        line.rstrip("\n").split("=", 1) for line in out if line.strip() and not line.startswith("#")
    )
    assert lines == {
        "LIVEKIT_CLOUD_API_URL": "http://127.0.0.1:1",
        "LIVEKIT_PROJECT_ID": "p_x",
        "LIVEKIT_API_KEY": "APIk",
        "LIVEKIT_API_SECRET": "secret" * 6,
        "LIVEPEER_API_URL": "http://127.0.0.1:2/api",
        "LIVEPEER_API_KEY": "lpkey",
    }
    assert "secret" not in repr(endpoints)
    assert "lpkey" not in repr(endpoints)


def test_further_projects_are_printed_with_numbered_names() -> None:
    """The first project keeps the usual names; project n follows with names suffixed _n."""
    livekit = tuple(
        LiveKitProject(project_id=f"p_{n}", api_key=f"APIk{n}", api_secret=f"secret{n}" * 6)
        for n in (1, 2, 3)
    )
    livepeer = (
        LivepeerProject(api_key="lpkey", project_id="proj-1"),
        LivepeerProject(api_key="lpkey2", project_id="proj-2"),
    )
    endpoints = SimulatorEndpoints(
        livekit_url="http://127.0.0.1:1",
        livekit_project_id="p_1",
        livekit_api_key="APIk1",
        livekit_api_secret="secret1" * 6,
        livepeer_url="http://127.0.0.1:2/api",
        livepeer_api_key="lpkey",
        livekit_projects=livekit,
        livepeer_projects=livepeer,
    )
    text = format_endpoints(endpoints)
    lines = dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )
    assert lines == {
        "LIVEKIT_CLOUD_API_URL": "http://127.0.0.1:1",
        "LIVEKIT_PROJECT_ID": "p_1",
        "LIVEKIT_API_KEY": "APIk1",
        "LIVEKIT_API_SECRET": "secret1" * 6,
        "LIVEKIT_PROJECT_ID_2": "p_2",
        "LIVEKIT_API_KEY_2": "APIk2",
        "LIVEKIT_API_SECRET_2": "secret2" * 6,
        "LIVEKIT_PROJECT_ID_3": "p_3",
        "LIVEKIT_API_KEY_3": "APIk3",
        "LIVEKIT_API_SECRET_3": "secret3" * 6,
        "LIVEPEER_API_URL": "http://127.0.0.1:2/api",
        "LIVEPEER_API_KEY": "lpkey",
        "LIVEPEER_API_KEY_2": "lpkey2",
    }
    assert "proj-2" in text
    one = replace(endpoints, livekit_projects=livekit[:1], livepeer_projects=livepeer[:1])
    bare = replace(endpoints, livekit_projects=(), livepeer_projects=())
    assert format_endpoints(one) == format_endpoints(bare)
    assert "_2" not in format_endpoints(one)
