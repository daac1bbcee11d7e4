"""Small parts: the sorted index, the fake clock, configuration, credentials, the CLI."""

from __future__ import annotations

import io

import pytest

from exporter.simulator import (
    FakeClock,
    Fault,
    RecordedRequest,
    RequestLog,
    SimulatorConfig,
    SimulatorEndpoints,
)
from exporter.simulator.__main__ import config_from_args, format_endpoints
from exporter.simulator.config import make_credentials
from exporter.simulator.sorted_index import SortedIndex


def test_sorted_index_moves_entries_instead_of_resorting() -> None:
    """Entries stay ordered by key (ties by handle) as they are inserted, moved and removed."""
    index: SortedIndex[str] = SortedIndex()
    index.put(2, (5,), "b")
    index.put(1, (5,), "a")
    index.put(3, (1,), "c")
    assert list(index.values()) == ["c", "a", "b"]
    index.put(3, (9,), "c2")
    assert list(index.values()) == ["a", "b", "c2"]
    index.remove(1)
    index.remove(42)
    assert list(index.values()) == ["b", "c2"]
    assert len(index) == 2
    assert 2 in index
    assert index.bisect_key((6,)) == 1
    assert list(index.values(1)) == ["c2"]
    index.clear()
    assert list(index.values()) == []


def test_fake_clock_moves_only_when_told() -> None:
    """The fake clock starts at a fixed instant, advances forward and can be set back."""
    clock = FakeClock()
    assert clock() == FakeClock.DEFAULT_START
    assert clock.advance(2.5) == FakeClock.DEFAULT_START + 2.5
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    clock.set(10)
    assert clock.now == 10.0


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
    assert config.faults == (
        ("livekit.list", Fault(status=503)),
        ("livepeer.list", Fault(latency=0.5)),
    )


@pytest.mark.parametrize(
    "argv", [["--fault", "livekit.list=explode"], ["--livekit-sessions", "-5"], ["--seed", "x"]]
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


def test_the_request_log_keeps_only_the_newest_records() -> None:
    """A bounded log drops its oldest records first, so long demo runs stay small."""
    log = RequestLog(maxlen=3)
    for i in range(5):
        log.append(
            RecordedRequest(
                api="livekit", endpoint="livekit.list", method="GET", raw_path=f"/{i}",
                query_string="", headers=(("x-n", str(i)),), received_at=float(i),
            )
        )  # fmt: skip
    assert [r.raw_path for r in log] == ["/2", "/3", "/4"]
    assert len(log) == 3
    assert log.records[-1].header("X-N") == "4"
    log.clear()
    assert log.for_endpoint("livekit.list") == []
