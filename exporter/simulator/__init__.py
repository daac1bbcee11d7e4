"""A faithful simulator of LiveKit's Cloud Analytics API and Livepeer Studio's sessions API.

Neither upstream is reachable from where the exporter is built and tested, so this package
plays both, quirks included (the README's "The simulator" section lists them): seeded
worlds of rooms and streams that evolve with an injectable clock, one per simulated project
(:class:`LiveKitProject`, :class:`LivepeerProject`), served over real HTTP, with switchable
faults and a log of every request. ``--demo``, the integration and
end-to-end tests and the benchmarks all run against it.

Layout: :mod:`.simulator` composes both servers, :mod:`.config` describes a run and
``__main__`` serves one from the command line; :mod:`.http` holds the HTTP machinery both
fake APIs share (request prelude, request log, faults, credential checks);
:mod:`.livekit` and :mod:`.livepeer` hold one API each, with the same module per role
(``model``, ``truth``, ``world``, ``encoding``, ``app``); :mod:`.common` holds what both
worlds are built from (seeded randomness, slot cycles, sorted index, fake clock).

Start it inside a task group::

    endpoints = await task_group.start(run_simulator, SimulatorConfig(seed=7))

or build a :class:`Simulator` to reach the world, the faults and the log from a test.
"""

from __future__ import annotations

from .common.clock import FakeClock
from .config import LiveKitProject, LivepeerProject, SimulatorConfig, SimulatorEndpoints
from .http.faults import ENDPOINTS, Fault, FaultAction, FaultBoard, parse_fault_spec
from .http.requestlog import RecordedRequest, RequestLog
from .livekit.model import Connection, LiveKitSessionPlan, ParticipantPlan
from .livekit.truth import LiveKitSessionTruth, ParticipantTruth, PublishedSources
from .livepeer.model import HealthEpisode, LivepeerSessionPlan, Profile, StreamPlan
from .livepeer.truth import ABSENT, LivepeerSessionTruth
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
    "LiveKitProject",
    "LiveKitSessionPlan",
    "LiveKitSessionTruth",
    "LivepeerProject",
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
