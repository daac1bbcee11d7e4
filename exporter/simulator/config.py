"""What a simulator run is made of (:class:`SimulatorConfig`) and what it hands back.

Credentials are generated per run with :mod:`secrets` unless the configuration fixes them;
they are test credentials for a local fake, never real ones, and the endpoints value keeps
the secrets out of its ``repr`` all the same.
"""

from __future__ import annotations

import secrets
import string
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from .http.faults import Fault

__all__ = ["Credentials", "SimulatorConfig", "SimulatorEndpoints", "make_credentials"]

MIN_SECRET_BYTES = 32  # PyJWT warns about shorter HMAC keys


@dataclass(frozen=True)
class SimulatorConfig:
    """How to build and serve the simulated world.

    ``livekit_sessions`` and ``livepeer_sessions`` are the scale knobs: the number of rooms
    and of streams, each listing its latest session (about ``active_fraction`` of them
    active). ``clock`` returns Unix seconds; the world moves only as it does. ``faults``
    are set on the endpoints at start (``(endpoint, Fault)`` pairs). The request log keeps
    the last ``request_log_size`` requests, so a long ``--demo`` run stays small.
    """

    seed: int = 0
    livekit_sessions: int = 25
    livepeer_sessions: int = 25
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
class SimulatorEndpoints:
    """Where a running simulator listens and the credentials it accepts.

    ``livepeer_url`` includes Studio's ``/api`` prefix, like ``https://livepeer.studio/api``.
    """

    livekit_url: str
    livekit_project_id: str
    livekit_api_key: str
    livekit_api_secret: str = field(repr=False)
    livepeer_url: str
    livepeer_api_key: str = field(repr=False)


@dataclass(frozen=True)
class Credentials:
    """The credentials of one run, generated or taken from the configuration."""

    livekit_project_id: str
    livekit_api_key: str
    livekit_api_secret: str = field(repr=False)
    livepeer_api_key: str = field(repr=False)
    livepeer_cors_api_key: str = field(repr=False)


def _token(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def make_credentials(config: SimulatorConfig) -> Credentials:
    """Fresh random credentials for whatever the configuration leaves unset."""
    lower = string.ascii_lowercase + string.digits
    return Credentials(
        livekit_project_id=config.livekit_project_id or "p_" + _token(lower, 12),
        livekit_api_key=config.livekit_api_key or "API" + _token(string.ascii_letters, 12),
        livekit_api_secret=config.livekit_api_secret or secrets.token_urlsafe(36),
        livepeer_api_key=config.livepeer_api_key or str(uuid.UUID(bytes=secrets.token_bytes(16))),
        livepeer_cors_api_key=(
            config.livepeer_cors_api_key or str(uuid.UUID(bytes=secrets.token_bytes(16)))
        ),
    )
