"""The real process: exit codes, --version, --help, config errors, logs, --once, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from exporter import __version__

ROOT = Path(__file__).resolve().parents[2]
SECRET = "lk-secret-that-must-not-leak-0123456789abcdef"
KEY = "lp-key-that-must-not-leak-0123456789"
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "LIVEPEER_API_KEY": KEY}


def exporter(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exporter", *args],
        capture_output=True,
        text=True,
        env=env or ENV,
        timeout=30,
        check=False,
        cwd=ROOT,
    )


def harness(scenario: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.support.harness", scenario, *args],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=30,
        check=False,
        cwd=ROOT,
    )


def test_version() -> None:
    """--version prints the version and exits 0, whatever else is configured."""
    result = exporter("--version", "--poll.interval=bogus")
    assert (result.returncode, result.stdout) == (0, f"livesession-exporter {__version__}\n")


def test_help() -> None:
    """--help prints every flag and exits 0."""
    result = exporter("--help")
    assert result.returncode == 0
    assert "--livekit.requests-per-minute" in result.stdout


def test_invalid_configuration_exits_2_listing_everything_without_secrets() -> None:
    """Every problem is printed, one per line, exit 2, and no secret value appears."""
    env = {**ENV, "LIVEKIT_API_SECRET": SECRET, "LIVESESSION_LOG_LEVEL": "loud"}
    result = exporter("--poll.timeout=x", "--livekit.api-secret", SECRET, env=env)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "livesession-exporter: invalid configuration:"
    assert any("--poll.timeout" in line for line in lines)
    assert any("$LIVESESSION_LOG_LEVEL" in line for line in lines)
    assert any("--livekit.api-secret: unknown flag" in line for line in lines)
    assert any("LiveKit source partly configured" in line for line in lines)
    assert len(lines) == 6
    assert SECRET not in result.stderr + result.stdout
    assert KEY not in result.stderr + result.stdout


def test_once_prints_the_exposition_and_exits_0() -> None:
    """--once polls, prints the text exposition with process metrics, and exits 0."""
    result = harness("ok", "--once", "--log.format=json")
    assert result.returncode == 0, result.stderr
    assert 'fake_up{project="p_test"} 1.0' in result.stdout
    assert "process_resident_memory_bytes" in result.stdout
    assert 'livesession_exporter_source_up{source="fake_source",target="t1"} 1.0' in result.stdout
    events = [json.loads(line) for line in result.stderr.splitlines()]
    (summary,) = [e for e in events if e["event"] == "poll_succeeded"]
    assert (summary["level"], summary["source"], summary["target"]) == ("info", "fake_source", "t1")
    assert summary["timestamp"].endswith("Z")


def test_once_exits_1_when_a_source_fails() -> None:
    """--once with a failed source still prints, then exits 1."""
    result = harness("fail", "--once", "--log.format=json")
    assert result.returncode == 1
    assert 'livesession_exporter_source_up{source="fake_source",target="t1"} 0.0' in result.stdout
    failed = [json.loads(line) for line in result.stderr.splitlines()]
    assert any(e["event"] == "poll_failed" and e["reason"] == "auth" for e in failed)


def test_console_log_format() -> None:
    """--log.format=console writes readable lines instead of JSON."""
    result = harness("ok", "--once", "--log.format=console")
    line = next(line for line in result.stderr.splitlines() if "poll_succeeded" in line)
    assert not line.startswith("{")
    assert "source=fake_source" in line


def test_listen_address_in_use_exits_1() -> None:
    """A listen address that cannot be bound is an error naming it, exit 1."""
    with running("ok") as (_, url):
        port = url.rsplit(":", 1)[1]
        result = harness("ok", f"--web.listen-address=127.0.0.1:{port}", "--log.format=json")
    assert result.returncode == 1
    assert "startup_failed" in result.stderr


@contextmanager
def running(scenario: str, *args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The harness serving on a free port; yields the process and its base URL."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.harness",
            scenario,
            "--log.format=json",
            "--web.listen-address=127.0.0.1:0",
            *args,
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
        cwd=ROOT,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            event = json.loads(line)
            if event["event"] == "exporter_started":
                yield process, event["url"].removesuffix("/metrics")
                break
        else:
            raise AssertionError("exporter did not start")
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        if process.stderr is not None:
            process.stderr.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_a_hung_poll_exits_0_quickly(signum: signal.Signals) -> None:
    """SIGTERM or SIGINT while a poll hangs stops the process with status 0 within 5 s."""
    with running("hang") as (process, url):
        second_poll = (
            'livesession_exporter_source_polls_total{source="fake_source",target="t1"} 2.0'
        )
        deadline = time.monotonic() + 10
        while second_poll not in httpx.get(url + "/metrics").text:
            assert time.monotonic() < deadline, "second (hanging) poll never started"
            time.sleep(0.05)
        started = time.monotonic()
        process.send_signal(signum)
        assert process.wait(5) == 0
        assert time.monotonic() - started < 5
        assert process.stderr is not None
        rest = [json.loads(line)["event"] for line in process.stderr]
        assert rest[-2:] == ["shutdown_requested", "exporter_stopped"]
