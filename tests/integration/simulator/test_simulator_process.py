"""``python -m exporter.simulator`` as a user runs it: prints where to go, serves, exits 0."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import anyio
import httpx
import jwt
import pytest
from anyio.abc import Process
from anyio.streams.text import TextReceiveStream

ROOT = Path(__file__).resolve().parents[3]


async def read_settings(process: Process, last: str = "LIVEPEER_API_KEY") -> dict[str, str]:
    """The ``NAME=value`` lines printed at start, up to ``last`` (the Livepeer key)."""
    assert process.stdout is not None
    settings: dict[str, str] = {}
    buffer = ""
    with anyio.fail_after(15):
        async for text in TextReceiveStream(process.stdout):
            buffer += text
            *lines, buffer = buffer.split("\n")
            for line in lines:
                if "=" in line and not line.startswith("#"):
                    name, _, value = line.partition("=")
                    settings[name] = value
            if last in settings:
                return settings
    raise AssertionError(f"no settings printed: {settings}")


@pytest.mark.anyio
async def test_serves_both_apis_and_exits_0_on_sigterm() -> None:
    """It prints URLs and credentials that work, honours --fault, and SIGTERM exits 0."""
    command = [
        sys.executable, "-m", "exporter.simulator", "--seed", "4", "--livekit-sessions", "3",
        "--livepeer-sessions", "3", "--fault", "livepeer.list=status:503,count:1",
    ]  # fmt: skip
    async with await anyio.open_process(command, cwd=ROOT, stderr=subprocess.DEVNULL) as process:
        try:
            env = await read_settings(process)
            now = int(time.time())
            claims = {"iss": env["LIVEKIT_API_KEY"], "nbf": now - 5, "exp": now + 600,
                      "video": {"roomList": True}}  # fmt: skip
            token = jwt.encode(claims, env["LIVEKIT_API_SECRET"], algorithm="HS256")
            livekit = (
                f"{env['LIVEKIT_CLOUD_API_URL']}/api/project/{env['LIVEKIT_PROJECT_ID']}/sessions"
            )
            livepeer = f"{env['LIVEPEER_API_URL']}/session"
            studio = {"Authorization": f"Bearer {env['LIVEPEER_API_KEY']}"}
            async with httpx.AsyncClient(timeout=10) as client:
                listed = await client.get(livekit, headers={"Authorization": f"Bearer {token}"})
                first = await client.get(livepeer, headers=studio)
                second = await client.get(livepeer, headers=studio)
            assert listed.status_code == 200
            assert len(listed.json()["sessions"]) >= 1
            assert (first.status_code, second.status_code) == (503, 200)
            assert env["LIVEKIT_CLOUD_API_URL"].startswith("http://127.0.0.1:")
            assert env["LIVEPEER_API_URL"].endswith("/api")
            process.send_signal(signal.SIGTERM)
            with anyio.fail_after(5):
                assert await process.wait() == 0
        finally:
            if process.returncode is None:
                process.kill()


@pytest.mark.anyio
async def test_several_projects_print_numbered_credentials_that_work() -> None:
    """With two projects of each API, the second's credentials (``_2``) reach its own world."""
    command = [
        sys.executable, "-m", "exporter.simulator", "--seed", "4", "--livekit-sessions", "3",
        "--livepeer-sessions", "3", "--livekit-projects", "2", "--livepeer-projects", "2",
    ]  # fmt: skip
    async with await anyio.open_process(command, cwd=ROOT, stderr=subprocess.DEVNULL) as process:
        try:
            env = await read_settings(process, last="LIVEPEER_API_KEY_2")
            now = int(time.time())
            base = f"{env['LIVEKIT_CLOUD_API_URL']}/api/project"
            listed: dict[str, list[str]] = {}
            async with httpx.AsyncClient(timeout=10) as client:
                for suffix in ("", "_2"):
                    claims = {"iss": env[f"LIVEKIT_API_KEY{suffix}"], "nbf": now - 5,
                              "exp": now + 600, "video": {"roomList": True}}  # fmt: skip
                    token = jwt.encode(claims, env[f"LIVEKIT_API_SECRET{suffix}"], "HS256")
                    response = await client.get(
                        f"{base}/{env[f'LIVEKIT_PROJECT_ID{suffix}']}/sessions",
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    assert response.status_code == 200
                    listed[suffix] = [s["sessionId"] for s in response.json()["sessions"]]
                    studio = await client.get(
                        f"{env['LIVEPEER_API_URL']}/session",
                        headers={"Authorization": f"Bearer {env[f'LIVEPEER_API_KEY{suffix}']}"},
                    )
                    assert studio.status_code == 200
                    listed["studio" + suffix] = [s["projectId"] for s in studio.json()]
            assert not set(listed[""]) & set(listed["_2"])
            assert not set(listed["studio"]) & set(listed["studio_2"])
            process.send_signal(signal.SIGTERM)
            with anyio.fail_after(5):
                assert await process.wait() == 0
        finally:
            if process.returncode is None:
                process.kill()


@pytest.mark.anyio
async def test_help_documents_the_fault_syntax_and_bad_arguments_exit_2() -> None:
    """``--help`` explains ``--fault``; a malformed fault exits 2."""
    base = [sys.executable, "-m", "exporter.simulator"]
    helped = await anyio.run_process([*base, "--help"], cwd=ROOT)
    text = helped.stdout.decode()
    for item in ("ENDPOINT=ITEM", "retry-after:SECONDS", "oversized:MIB", "count:N"):
        assert item in text
    refused = await anyio.run_process([*base, "--fault", "x=y"], cwd=ROOT, check=False)
    assert refused.returncode == 2
    assert b"--fault" in refused.stderr
