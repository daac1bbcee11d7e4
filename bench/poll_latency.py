"""Wall time of one LiveKit poll with 1,000 active sessions and 50 ms upstream latency.

The simulator (in a thread of this process) holds exactly 1,000 active LiveKit sessions (added
one by one, so none ends or pauses during the run) and answers every list and details request
50 ms late (``Fault(latency=0.05)``). The real exporter (``python -m exporter --once``, LiveKit
only, page size 100, budget 100,000 requests a minute so the bucket holds every request the
poll makes) polls it once and prints its exposition; the poll's wall time is its own
self-metric ``livesession_exporter_source_poll_duration_seconds``. The ideal is quality.md's
``pages x latency + ceil(details / concurrency) x latency``, with pages and details counted
from the exporter's ``api_requests_total`` (1,000 sessions in pages of 100 is 10 full pages and
the empty 11th that ends the list) and concurrency ``DETAILS_CONCURRENCY`` (6).

The same run tells where any excess goes: the mean latency of each endpoint as the exporter
saw it (``api_request_duration_seconds``), and the overhead per request above 50 ms.
"""

from __future__ import annotations

import math
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Final

from prometheus_client.parser import text_string_to_metric_families

from bench.results import Result
from bench.worlds import BUDGET, SEED
from exporter.simulator import Fault, SimulatorConfig
from exporter.simulator.livekit.model import livekit_room_name
from exporter.sources.livekit.source import DETAILS_CONCURRENCY
from tests.support.processes import ROOT, clean_env, running_simulator, simulator_env

__all__ = ["run"]

GROUP: Final = "Poll"
ACTIVE: Final = 1000
LATENCY: Final = 0.05
PAGE_SIZE: Final = 100
RUNS: Final = 3
MAX_RATIO: Final = 1.2
_SOURCE: Final = "livekit_cloud"


@dataclass(frozen=True, slots=True)
class Run:
    """One ``python -m exporter --once``: what it printed and what it cost."""

    exposition: str
    wall: float
    """Seconds the whole process took, start-up included."""
    user: float
    """CPU seconds of the process in user mode (``RUSAGE_CHILDREN``), start-up included."""
    system: float
    """... and in the kernel: loopback TCP is processed on the sender's CPU time."""
    simulator: float
    """CPU seconds this process (the simulator's thread, in effect) spent meanwhile."""


@dataclass(frozen=True, slots=True)
class Poll:
    """What one ``--once`` run says about its LiveKit poll."""

    run: Run
    duration: float
    pages: int
    details: int
    active: float
    list_latency: float
    """Mean seconds per list request, as the exporter measured it."""
    details_latency: float

    @property
    def requests(self) -> int:
        return self.pages + self.details

    @property
    def ideal(self) -> float:
        rounds = math.ceil(self.details / DETAILS_CONCURRENCY)
        return self.pages * LATENCY + rounds * LATENCY

    @property
    def ratio(self) -> float:
        return self.duration / self.ideal


def once(env: dict[str, str]) -> Run:
    """Run ``python -m exporter --once`` (LiveKit only) against the simulator."""
    command = [sys.executable, "-m", "exporter", "--once", "--log.format=json"]
    command += [f"--livekit.requests-per-minute={BUDGET}", f"--livekit.page-size={PAGE_SIZE}"]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    start, start_cpu = time.perf_counter(), time.process_time()
    done = subprocess.run(  # noqa: S603  # our own program, fixed arguments
        command, env=clean_env(env), cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise AssertionError(f"--once exited {done.returncode}: {done.stderr[-2000:]}")
    user, system = after.ru_utime - children.ru_utime, after.ru_stime - children.ru_stime
    return Run(done.stdout, wall, user, system, cpu)


def parse(run: Run) -> Poll:
    """The LiveKit poll's numbers from a ``--once`` exposition."""
    values: dict[tuple[str, str], float] = {}
    active = math.nan
    for family in text_string_to_metric_families(run.exposition):
        for sample in family.samples:
            name, labels, value = sample.name, sample.labels, sample.value
            if name == "livekit_cloud_sessions_active":
                active = value
            if labels.get("source") != _SOURCE:
                continue
            if name == "livesession_exporter_api_requests_total" and labels["code"] != "200":
                if value:
                    raise AssertionError(f"{labels['endpoint']} got {labels['code']}: {value:g}")
                continue
            key = (name, labels.get("endpoint", ""))
            values[key] = values.get(key, 0.0) + value
    count = "livesession_exporter_api_request_duration_seconds_count"
    total = "livesession_exporter_api_request_duration_seconds_sum"
    return Poll(
        run=run,
        duration=values[("livesession_exporter_source_poll_duration_seconds", "")],
        pages=int(values[("livesession_exporter_api_requests_total", "list_sessions")]),
        details=int(values[("livesession_exporter_api_requests_total", "session_details")]),
        active=active,
        list_latency=values[(total, "list_sessions")] / values[(count, "list_sessions")],
        details_latency=values[(total, "session_details")] / values[(count, "session_details")],
    )


def poll_once(env: dict[str, str]) -> Poll:
    """One ``--once`` poll of the 1,000 sessions, checked: every request made, and only once."""
    poll = parse(once(env))
    if poll.active != ACTIVE or poll.details != ACTIVE:
        raise AssertionError(f"{poll.active:g} active, {poll.details} details: expected {ACTIVE}")
    expected_pages = ACTIVE // PAGE_SIZE + 1  # the last page is full: one more, empty
    if poll.pages != expected_pages:
        raise AssertionError(f"{poll.pages} list requests, expected {expected_pages}")
    return poll


def run() -> list[Result]:
    config = SimulatorConfig(seed=SEED, livekit_sessions=0, livepeer_sessions=0)
    with running_simulator(config) as sim:
        assert sim.endpoints is not None
        env = {k: v for k, v in simulator_env(sim.endpoints).items() if "LIVEPEER" not in k}
        empty = once(env)  # start-up, one empty list page: subtracted from the CPU below
        for index in range(ACTIVE):
            sim.livekit.add_session(room_name=livekit_room_name(SEED, index))
        sim.faults.set("livekit.list", Fault(latency=LATENCY))
        sim.faults.set("livekit.details", Fault(latency=LATENCY))
        polls = sorted((poll_once(env) for _ in range(RUNS)), key=lambda p: p.duration)
    poll = polls[len(polls) // 2]
    durations = ", ".join(f"{p.duration:.2f}" for p in polls)
    rounds = math.ceil(poll.details / DETAILS_CONCURRENCY)
    overhead = poll.duration - poll.ideal
    per_round = overhead / (poll.pages + rounds)
    extra = poll.requests - 1  # the empty run made one request
    return [
        Result(
            GROUP,
            f"LiveKit poll, {ACTIVE:,} active sessions, {LATENCY * 1000:g} ms latency, "
            f"budget {BUDGET:,}/min",
            f"≤ {MAX_RATIO:g}x ideal",
            f"**{poll.duration:.2f} s** (median of {RUNS}: {durations} s) vs ideal "
            f"{poll.pages} x {LATENCY:g} + ceil({poll.details:,} / {DETAILS_CONCURRENCY}) x "
            f"{LATENCY:g} = {poll.ideal:.2f} s: **{poll.ratio:.3f}x**",
            poll.ratio <= MAX_RATIO,
        ),
        Result(
            GROUP,
            "Where the LiveKit poll's time goes",
            "no target",
            f"mean latency seen by the exporter: list {poll.list_latency * 1000:.1f} ms, "
            f"details {poll.details_latency * 1000:.1f} ms (upstream adds {LATENCY * 1000:g}); "
            f"{overhead:.2f} s over the ideal = {per_round * 1000:.1f} ms per sequential step "
            f"({poll.pages} pages + {rounds} details rounds). CPU per request: simulator "
            f"{poll.run.simulator / poll.requests * 1000:.1f} ms; exporter "
            f"{(poll.run.user - empty.user) / extra * 1000:.1f} ms user + "
            f"{(poll.run.system - empty.system) / extra * 1000:.1f} ms system (the `--once` "
            f"process less one polling an empty world; {poll.run.wall:.1f} s wall)",
            None,
        ),
    ]


if __name__ == "__main__":
    for result in run():
        print(result)
