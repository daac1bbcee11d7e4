"""Real processes and servers for integration tests: the exporter as a user runs it, and
the simulator served from a background thread so a test can flip its faults mid-run.

``running_simulator(config)`` yields the live :class:`Simulator` (``.endpoints`` set);
``simulator_env(endpoints)`` is the environment a user would export for it;
``ExporterProcess`` starts ``python -m exporter`` with JSON logs on a free port, collects
its stderr lines as they come, and stops it with SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import anyio.from_thread
import httpx

from exporter.simulator import SimulatorConfig
from exporter.simulator.config import SimulatorEndpoints
from exporter.simulator.simulator import Simulator

ROOT = Path(__file__).resolve().parents[2]

# Variables a developer's shell may carry that would change what the child process does.
_INHERITED_PREFIXES = ("LIVEKIT_", "LIVEPEER_", "LIVESESSION_")


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without exporter settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_INHERITED_PREFIXES)}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra or {})
    return env


def simulator_env(endpoints: SimulatorEndpoints) -> dict[str, str]:
    """The variables a user exports to point the exporter at this simulator."""
    return {
        "LIVEKIT_CLOUD_API_URL": endpoints.livekit_url,
        "LIVEKIT_PROJECT_ID": endpoints.livekit_project_id,
        "LIVEKIT_API_KEY": endpoints.livekit_api_key,
        "LIVEKIT_API_SECRET": endpoints.livekit_api_secret,
        "LIVEPEER_API_URL": endpoints.livepeer_url,
        "LIVEPEER_API_KEY": endpoints.livepeer_api_key,
    }


@contextmanager
def running_simulator(config: SimulatorConfig | None = None) -> Iterator[Simulator]:
    """Serve a simulator from a background event loop until the block ends.

    Faults (``sim.faults.set``) and the world (``sim.livekit``, ``sim.livepeer``) are plain
    objects the test thread may change between requests.
    """
    simulator = Simulator(config)
    with anyio.from_thread.start_blocking_portal() as portal:
        future, _ = portal.start_task(simulator.run)
        try:
            yield simulator
        finally:
            future.cancel()


def wait_for(condition: Callable[[], Any], *, within: float, what: str) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within} s: {what}")
        time.sleep(0.02)


class ExporterProcess:
    """``python -m exporter ARGS`` in its own process, JSON logs collected line by line."""

    def __init__(
        self,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        *,
        module: Sequence[str] = ("-m", "exporter"),
    ) -> None:
        self.args = [
            *module,
            "--log.format=json",
            "--web.listen-address=127.0.0.1:0",
            *args,
        ]
        self.env = clean_env(env)
        self.lines: list[str] = []
        self.url = ""
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, *, within: float = 15) -> Self:
        self._process = subprocess.Popen(
            [sys.executable, *self.args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
            cwd=ROOT,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        started = wait_for(
            lambda: self.event("exporter_started") or self.returncode is not None,
            within=within,
            what="the exporter to log exporter_started",
        )
        if started is True:
            raise AssertionError(f"exporter exited {self.returncode}: {self.stderr}")
        self.url = started["url"]
        return self

    def _read(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        for line in stream:
            with self._lock:
                self.lines.append(line)

    def terminate(self, *, within: float = 5) -> int:
        """SIGTERM, then the exit status; fails if the process takes longer than ``within``."""
        process = self.process
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(within)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"exporter still running {within} s after SIGTERM") from None

    def kill(self) -> None:
        process = self.process
        if process.poll() is None:
            process.kill()
        process.wait(10)
        if self._reader is not None:
            self._reader.join(5)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.kill()

    # -- observation -----------------------------------------------------------------------

    @property
    def process(self) -> subprocess.Popen[str]:
        assert self._process is not None, "start() first"
        return self._process

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    @property
    def stderr(self) -> str:
        with self._lock:
            return "".join(self.lines)

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """The JSON log lines so far (those named ``name``, if given)."""
        with self._lock:
            lines = list(self.lines)
        parsed = [json.loads(line) for line in lines if line.startswith("{")]
        return [e for e in parsed if name is None or e.get("event") == name]

    def event(self, name: str) -> dict[str, Any] | None:
        """The latest log line named ``name``, or None."""
        found = self.events(name)
        return found[-1] if found else None

    @property
    def base(self) -> str:
        """The server's root URL (the telemetry path's scheme, host and port)."""
        return str(httpx.URL(self.url).copy_with(path="/"))

    def scrape(self, **headers: str) -> str:
        response = httpx.get(self.url, headers=headers, timeout=10)
        response.raise_for_status()
        return response.text
