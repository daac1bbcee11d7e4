"""A faithful simulator of LiveKit's Cloud Analytics API and Livepeer Studio's sessions API.

Neither upstream is reachable from where the exporter is built and tested, so this package
plays both, quirks included (``../shared/spec/upstream-apis.md``): one seeded world of rooms
and streams that evolves with an injectable clock, served over real HTTP, with switchable
faults and a log of every request. ``--demo``, the integration and end-to-end tests and the
benchmarks all run against it.

Start it inside a task group::

    endpoints = await task_group.start(run_simulator, SimulatorConfig(seed=7))

or build a :class:`Simulator` to reach the world, the faults and the log from a test.
"""

from __future__ import annotations

from .clock import FakeClock
from .config import SimulatorConfig, SimulatorEndpoints
from .faults import ENDPOINTS, Fault, FaultAction, FaultBoard, parse_fault_spec
from .livekit_model import Connection, LiveKitSessionPlan, ParticipantPlan
from .livekit_truth import LiveKitSessionTruth, ParticipantTruth, PublishedSources
from .livepeer_model import HealthEpisode, LivepeerSessionPlan, Profile, StreamPlan
from .livepeer_truth import ABSENT, LivepeerSessionTruth
from .requestlog import RecordedRequest, RequestLog
from .simulator import Simulator, run_simulator

__all__ = [
    "ABSENT",
    "ENDPOINTS",
    "Connection",
    "FakeClock",
    "Fault",
    "FaultAction",
    "FaultBoard",
    "HealthEpisode",
    "LiveKitSessionPlan",
    "LiveKitSessionTruth",
    "LivepeerSessionPlan",
    "LivepeerSessionTruth",
    "ParticipantPlan",
    "ParticipantTruth",
    "Profile",
    "PublishedSources",
    "RecordedRequest",
    "RequestLog",
    "Simulator",
    "SimulatorConfig",
    "SimulatorEndpoints",
    "StreamPlan",
    "parse_fault_spec",
    "run_simulator",
]
