"""The simulator as one object: the world, the faults, the request log and both servers.

Tests build a :class:`Simulator` (usually with a :class:`~.common.clock.FakeClock`), start it with
``endpoints = await task_group.start(sim.run)``, then read the ground truth
(``sim.livekit.active_sessions()``, ``sim.livepeer.sessions()``), add sessions, flip faults
(``sim.faults.set("livekit.list", Fault(status=503))``) and inspect ``sim.log`` while the
code under test talks to it over real sockets.

With several projects (``SimulatorConfig(livekit_projects=3)``), ``sim.livekit`` and
``sim.livepeer`` are the first project's worlds; ``sim.livekit_worlds[i]`` and
``sim.livepeer_worlds[i]`` are project ``i``'s, whose credentials are
``sim.livekit_projects[i]`` and ``sim.livepeer_projects[i]``. The faults and the request log
are shared: one fault board per endpoint, whatever the project.
"""

from __future__ import annotations

import socket

import anyio
import anyio.abc

from exporter.config.values import ListenAddress
from exporter.web.server import bind, bound_url, serve

from .common.seeded import project_seed
from .config import LivepeerProject, SimulatorConfig, SimulatorEndpoints, make_credentials
from .http.asgi import Stopping
from .http.fake_api import AppContext
from .http.faults import FaultBoard
from .http.requestlog import RequestLog
from .livekit.app import LiveKitApp
from .livekit.world import LiveKitWorld
from .livepeer.app import LivepeerApp
from .livepeer.world import LivepeerWorld

__all__ = ["Simulator", "run_simulator"]


class Simulator:
    """Both simulated APIs over seeded worlds (one per project), with faults and a request log."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config = config or SimulatorConfig()
        self.clock = config.clock
        self.credentials = creds = make_credentials(config)
        self.livekit_worlds = tuple(
            LiveKitWorld(
                seed=project_seed(config.seed, index),
                rooms=config.livekit_sessions,
                clock=config.clock,
                active_fraction=config.active_fraction,
            )
            for index in range(config.livekit_projects)
        )
        """Each LiveKit project's world, in the order of :attr:`livekit_projects`."""
        self.livepeer_worlds = tuple(
            LivepeerWorld(
                seed=project_seed(config.seed, index),
                streams=config.livepeer_sessions,
                clock=config.clock,
                active_fraction=config.active_fraction,
            )
            for index in range(config.livepeer_projects)
        )
        """Each Studio project's world, in the order of :attr:`livepeer_projects`."""
        self.livekit = self.livekit_worlds[0]
        self.livepeer = self.livepeer_worlds[0]
        self.livekit_projects = creds.livekit
        """Each LiveKit project's id and credentials, the first one first."""
        self.livepeer_projects = tuple(
            LivepeerProject(api_key=keys.api_key, project_id=world.project_id)
            for keys, world in zip(creds.livepeer, self.livepeer_worlds, strict=True)
        )
        """Each Studio project's API key and ``projectId``, the first one first."""
        self.faults = FaultBoard(config.faults)
        self.log = RequestLog(config.request_log_size)
        self._stopping = Stopping()
        context = AppContext(config.clock, self.faults, self.log, self._stopping)
        self.livekit_app = LiveKitApp(
            context, config, zip(creds.livekit, self.livekit_worlds, strict=True)
        )
        self.livepeer_app = LivepeerApp(
            context, config, zip(creds.livepeer, self.livepeer_worlds, strict=True)
        )
        self.endpoints: SimulatorEndpoints | None = None
        """Set once :meth:`run` has both servers accepting requests."""

    async def run(
        self,
        *,
        task_status: anyio.abc.TaskStatus[SimulatorEndpoints] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Serve both APIs until cancelled; ``task_status.started`` gets the endpoints."""
        config = self.config
        sockets: list[socket.socket] = []
        try:
            sockets.append(bind(ListenAddress(config.host, config.livekit_port)))
            sockets.append(bind(ListenAddress(config.host, config.livepeer_port)))
            livekit_sock, livepeer_sock = sockets
            self._stopping.arm()
            async with anyio.create_task_group() as tg:
                await tg.start(serve, self.livekit_app, livekit_sock)
                await tg.start(serve, self.livepeer_app, livepeer_sock)
                creds = self.credentials
                self.endpoints = SimulatorEndpoints(
                    livekit_url=bound_url(livekit_sock),
                    livekit_project_id=creds.livekit_project_id,
                    livekit_api_key=creds.livekit_api_key,
                    livekit_api_secret=creds.livekit_api_secret,
                    livepeer_url=bound_url(livepeer_sock) + "/api",
                    livepeer_api_key=creds.livepeer_api_key,
                    livekit_projects=self.livekit_projects,
                    livepeer_projects=self.livepeer_projects,
                )
                task_status.started(self.endpoints)
                try:
                    await anyio.sleep_forever()
                finally:
                    # release hanging requests and endless bodies before the servers close
                    self._stopping.fire()
        finally:
            for sock in sockets:
                sock.close()
            self.endpoints = None


async def run_simulator(
    config: SimulatorConfig,
    *,
    task_status: anyio.abc.TaskStatus[SimulatorEndpoints] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Bind both servers, report their endpoints once they accept requests, run until cancelled.

    Usage: ``endpoints = await task_group.start(run_simulator, config)``.
    """
    await Simulator(config).run(task_status=task_status)
