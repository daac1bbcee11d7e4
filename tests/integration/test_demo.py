"""--demo, as a user runs it: a real process polling the built-in simulator."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def test_demo_serves_both_sources_within_15_seconds() -> None:
    """--demo says so first, then serves LiveKit and Livepeer series within 15 s."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "LIVEPEER_"))}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "exporter",
            "--demo",
            "--log.format=json",
            "--web.listen-address=127.0.0.1:0",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    started = time.monotonic()
    try:
        assert process.stderr is not None
        first = json.loads(process.stderr.readline())
        assert first["event"] == "demo_mode"
        url = ""
        for line in process.stderr:
            event = json.loads(line)
            if event["event"] == "exporter_started":
                url = event["url"]
                assert event["demo"] is True
                break
        body = ""
        while time.monotonic() - started < 15:
            body = httpx.get(url).text
            if "\nlivekit_cloud_sessions_active{" in body and (
                "\nlivepeer_studio_sessions_active{" in body
            ):
                break
            time.sleep(0.1)
        assert "\nlivekit_cloud_session_bandwidth_bytes_total{" in body
        assert "\nlivepeer_studio_session_ingest_rate_bytes_per_second{" in body
        landing = httpx.get(url.removesuffix("/metrics") + "/").text
        assert "Demo mode" in landing
        assert "livekit_cloud" in landing
        assert "livepeer_studio" in landing
        process.send_signal(signal.SIGTERM)
        assert process.wait(5) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        if process.stderr is not None:
            process.stderr.close()


def test_demo_with_the_listen_address_taken_exits_1_naming_it() -> None:
    """A taken port fails --demo the same way as a normal start: one startup_failed line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "LIVEPEER_"))}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "exporter",
                "--demo",
                "--log.format=json",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=30,
            check=False,
        )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    events = [json.loads(line)["event"] for line in result.stderr.splitlines()]
    assert events[-1] == "startup_failed"
