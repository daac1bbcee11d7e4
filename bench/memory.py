"""Resident memory of the real exporter process, idle and with the 2,000 + 2,000 snapshot.

Each case starts ``python -m exporter`` (both sources configured, ``--poll.interval=2s``)
against a simulator served from a thread of this process, waits for several successful polls
of both sources while scraping all four response kinds (text, OpenMetrics, each with and
without gzip), then reads ``VmRSS`` (resident now) and ``VmHWM`` (the peak resident size over
the process's life) from ``/proc/PID/status``. The verdict is on the peak, the stricter number.

- idle: a simulator with no sessions at all;
- ``--demo``: the demo mode, simulator included in the process (25 + 25 sessions), for
  information;
- loaded: the world of :mod:`bench.worlds`: 2,000 sessions of each source with per-session
  series, every LiveKit session's details refreshed on every poll.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

from bench.results import Result
from bench.worlds import LOADED_ARGS, SEED, SESSIONS, count_sessions, loaded_config
from exporter.simulator import SimulatorConfig
from tests.support.processes import ExporterProcess, running_simulator, simulator_env

__all__ = ["run"]

GROUP: Final = "Memory"
IDLE_LIMIT_MB: Final = 80.0
LOADED_LIMIT_MB: Final = 200.0
POLLS: Final = 5
"""Successful polls of each source before memory is read."""
_KINDS: Final = (
    {"accept": "text/plain", "accept-encoding": "identity"},
    {"accept": "text/plain", "accept-encoding": "gzip"},
    {"accept": "application/openmetrics-text; version=1.0.0", "accept-encoding": "identity"},
    {"accept": "application/openmetrics-text; version=1.0.0", "accept-encoding": "gzip"},
)


@dataclass(frozen=True, slots=True)
class Memory:
    """Resident sizes of one process, in MB (10^6 bytes)."""

    rss: float
    hwm: float
    polls: int
    scrapes: int
    body: bytes


def _status_mb(pid: int) -> tuple[float, float]:
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) * 1024 / 1e6  # kB → MB
    return fields["VmRSS"], fields["VmHWM"]


def _successes(exporter: ExporterProcess) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event in exporter.events("poll_succeeded"):
        counts[event["source"]] = counts.get(event["source"], 0) + 1
    return counts


def measure(args: Sequence[str], env: Mapping[str, str], *, within: float) -> Memory:
    """Start the exporter, scrape it until every source polled ``POLLS`` times, read memory."""
    scrapes = 0
    with ExporterProcess(args, env) as exporter, httpx.Client(timeout=60) as client:
        deadline = time.monotonic() + within
        while True:
            polls = _successes(exporter)
            if len(polls) == 2 and min(polls.values()) >= POLLS:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"not {POLLS} polls of each source in {within} s: {polls}")
            if exporter.returncode is not None:
                raise AssertionError(f"exporter exited {exporter.returncode}")
            client.get(exporter.url, headers=_KINDS[scrapes % len(_KINDS)]).raise_for_status()
            scrapes += 1
            time.sleep(0.05)  # a scrape every ~50 ms: far more often than Prometheus would
        for headers in _KINDS:
            client.get(exporter.url, headers=headers).raise_for_status()
            scrapes += 1
        if failed := exporter.events("poll_failed"):
            raise AssertionError(f"a poll failed: {failed[0]}")
        body = client.get(exporter.url, headers=_KINDS[0]).content
        rss, hwm = _status_mb(exporter.process.pid)
        return Memory(rss, hwm, min(polls.values()), scrapes + 1, body)


def _row(name: str, limit: float | None, memory: Memory) -> Result:
    measured = (
        f"VmHWM **{memory.hwm:.0f} MB**, VmRSS {memory.rss:.0f} MB "
        f"(after {memory.polls} polls of each source and {memory.scrapes} scrapes)"
    )
    if limit is None:
        return Result(GROUP, name, "no target", measured, None)
    return Result(GROUP, name, f"< {limit:g} MB resident", measured, memory.hwm < limit)


def run() -> list[Result]:
    interval = "--poll.interval=2s"
    with running_simulator(
        SimulatorConfig(seed=SEED, livekit_sessions=0, livepeer_sessions=0)
    ) as sim:
        assert sim.endpoints is not None
        idle = measure([interval], simulator_env(sim.endpoints), within=60)
    demo = measure(["--demo", interval], {}, within=60)
    with running_simulator(loaded_config()) as sim:
        assert sim.endpoints is not None
        loaded = measure([*LOADED_ARGS, interval], simulator_env(sim.endpoints), within=180)
    livekit, livepeer, _, _ = count_sessions(loaded.body)
    if (livekit, livepeer) != (SESSIONS, SESSIONS):
        raise AssertionError(f"loaded exporter serves {livekit} + {livepeer} sessions")
    if count_sessions(idle.body)[:2] != (0, 0):
        raise AssertionError("the idle exporter serves sessions")
    return [
        _row("Idle: both sources polled, no sessions", IDLE_LIMIT_MB, idle),
        _row(f"Loaded: {SESSIONS:,} + {SESSIONS:,} sessions", LOADED_LIMIT_MB, loaded),
        _row("`--demo` (simulator in the same process, 25 + 25 sessions)", None, demo),
    ]


if __name__ == "__main__":
    for result in run():
        print(result)
