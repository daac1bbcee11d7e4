"""What a simulator run is made of (:class:`SimulatorConfig`) and what it hands back.

A run serves ``livekit_projects`` LiveKit Cloud projects and ``livepeer_projects`` Studio
projects (one API key each), every one with its own world. Credentials are generated per run
with :mod:`secrets` unless the configuration fixes them (for the first project of each API
only); they are test credentials for a local fake, never real ones, and the endpoints value
keeps the secrets out of its ``repr`` all the same.
"""

from __future__ import annotations

import secrets
import string
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from .http.faults import Fault

__all__ = [
    "Credentials",
    "LiveKitProject",
    "LivepeerKeys",
    "LivepeerProject",
    "SimulatorConfig",
    "SimulatorEndpoints",
    "make_credentials",
]

MIN_SECRET_BYTES = 32  # PyJWT warns about shorter HMAC keys
MAX_PROJECTS = 1000


@dataclass(frozen=True)
class SimulatorConfig:
    """How to build and serve the simulated world.

    ``livekit_sessions`` and ``livepeer_sessions`` are the scale knobs: the number of rooms
    and of streams of each project, each listing its latest session (about
    ``active_fraction`` of them active). ``livekit_projects`` and ``livepeer_projects`` are
    how many projects each API serves, each with its own credentials and world; the fixed
    ``livekit_*`` and ``livepeer_*`` credentials below apply to the first one. ``clock``
    returns Unix seconds; the world moves only as it does. ``faults`` are set on the
    endpoints at start (``(endpoint, Fault)`` pairs), whatever the project. The request log
    keeps the last ``request_log_size`` requests, so a long ``--demo`` run stays small.
    """

    seed: int = 0
    livekit_sessions: int = 25
    livepeer_sessions: int = 25
    livekit_projects: int = 1
    livepeer_projects: int = 1
    host: str = "127.0.0.1"
    livekit_port: int = 0
    livepeer_port: int = 0
    clock: Callable[[], float] = field(default=time.time, compare=False)
    faults: tuple[tuple[str, Fault], ...] = ()
    active_fraction: float = 0.8
    livekit_project_id: str | None = None
    livekit_api_key: str | None = None
    livekit_api_secret: str | None = field(default=None, repr=False)
    livepeer_api_key: str | None = field(default=None, repr=False)
    livepeer_cors_api_key: str | None = field(default=None, repr=False)
    livekit_snake_case: bool = False
    livepeer_link_origin: str = "http://studio-api.internal:3004"
    token_leeway: float = 60.0
    request_log_size: int = 10_000

    def __post_init__(self) -> None:
        problems = []
        if not 0 <= self.livekit_sessions <= 1_000_000:
            problems.append("livekit_sessions must be between 0 and 1,000,000")
        if not 0 <= self.livepeer_sessions <= 1_000_000:
            problems.append("livepeer_sessions must be between 0 and 1,000,000")
        problems.extend(
            f"{name} must be between 1 and {MAX_PROJECTS:,}"
            for name in ("livekit_projects", "livepeer_projects")
            if not 1 <= getattr(self, name) <= MAX_PROJECTS
        )
        problems.extend(
            f"{name} must be between 0 and 65535"
            for name in ("livekit_port", "livepeer_port")
            if not 0 <= getattr(self, name) <= 65535
        )
        if self.request_log_size < 1:
            problems.append("request_log_size must be >= 1")
        if not 0 < self.active_fraction <= 1:
            problems.append("active_fraction must be in (0, 1]")
        secret = self.livekit_api_secret
        if secret is not None and len(secret.encode()) < MIN_SECRET_BYTES:
            problems.append(f"livekit_api_secret must be at least {MIN_SECRET_BYTES} bytes")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True)
class LiveKitProject:
    """One simulated LiveKit Cloud project: the id its paths name and the key it accepts."""

    project_id: str
    api_key: str
    api_secret: str = field(repr=False)


@dataclass(frozen=True)
class LivepeerProject:
    """One simulated Studio project: the API key that sees it and its ``projectId``."""

    api_key: str = field(repr=False)
    project_id: str


@dataclass(frozen=True)
class LivepeerKeys:
    """The keys of one Studio project: its API key and a CORS-enabled one."""

    api_key: str = field(repr=False)
    cors_api_key: str = field(repr=False)


@dataclass(frozen=True)
class SimulatorEndpoints:
    """Where a running simulator listens and the credentials it accepts.

    ``livepeer_url`` includes Studio's ``/api`` prefix, like ``https://livepeer.studio/api``.
    The single credential fields are the first project's of each API; ``livekit_projects``
    and ``livepeer_projects`` list every project, the first one first.
    """

    livekit_url: str
    livekit_project_id: str
    livekit_api_key: str
    livekit_api_secret: str = field(repr=False)
    livepeer_url: str
    livepeer_api_key: str = field(repr=False)
    livekit_projects: tuple[LiveKitProject, ...] = ()
    livepeer_projects: tuple[LivepeerProject, ...] = ()


@dataclass(frozen=True)
class Credentials:
    """The credentials of one run, per project, generated or taken from the configuration.

    The single fields (``livekit_api_key``...) are the first project's of each API.
    """

    livekit: tuple[LiveKitProject, ...]
    livepeer: tuple[LivepeerKeys, ...]

    @property
    def livekit_project_id(self) -> str:
        return self.livekit[0].project_id

    @property
    def livekit_api_key(self) -> str:
        return self.livekit[0].api_key

    @property
    def livekit_api_secret(self) -> str:
        return self.livekit[0].api_secret

    @property
    def livepeer_api_key(self) -> str:
        return self.livepeer[0].api_key

    @property
    def livepeer_cors_api_key(self) -> str:
        return self.livepeer[0].cors_api_key


def _token(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _studio_key() -> str:
    return str(uuid.UUID(bytes=secrets.token_bytes(16)))


def make_credentials(config: SimulatorConfig) -> Credentials:
    """Fresh random credentials for whatever the configuration leaves unset.

    Every project gets its own; the configuration's fixed ones apply to the first only.
    Generated ids and keys are random enough not to collide in practice.
    """
    lower = string.ascii_lowercase + string.digits
    livekit = [
        LiveKitProject(
            project_id="p_" + _token(lower, 12),
            api_key="API" + _token(string.ascii_letters, 12),
            api_secret=secrets.token_urlsafe(36),
        )
        for _ in range(config.livekit_projects)
    ]
    livepeer = [
        LivepeerKeys(api_key=_studio_key(), cors_api_key=_studio_key())
        for _ in range(config.livepeer_projects)
    ]
    first, keys = livekit[0], livepeer[0]
    livekit[0] = LiveKitProject(
        project_id=config.livekit_project_id or first.project_id,
        api_key=config.livekit_api_key or first.api_key,
        api_secret=config.livekit_api_secret or first.api_secret,
    )
    livepeer[0] = LivepeerKeys(
        api_key=config.livepeer_api_key or keys.api_key,
        cors_api_key=config.livepeer_cors_api_key or keys.cors_api_key,
    )
    return Credentials(livekit=tuple(livekit), livepeer=tuple(livepeer))
