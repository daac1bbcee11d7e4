"""The simulated worlds and exporter flags the benchmarks share.

quality.md's loaded case is "2,000 active LiveKit sessions and 2,000 active Livepeer sessions
in the snapshot". The simulator's rooms and streams pause briefly between sessions even with
``active_fraction=1.0`` (about 0.8 % of them at any instant), so the world holds a little more
than 2,000 of each and ``--*.max-sessions=2000`` gives exactly 2,000 sessions of each source
their per-session series; the few above that count in the aggregates only. Every LiveKit
session's details are fetched (the budget is set far above what a poll needs), so the snapshot
is as large as 2,000 sessions can make it.
"""

from __future__ import annotations

import re
from typing import Final

from exporter.simulator import SimulatorConfig

__all__ = [
    "BUDGET",
    "LOADED_ARGS",
    "SEED",
    "SESSIONS",
    "count_sessions",
    "loaded_config",
]

SEED: Final = 2026
SESSIONS: Final = 2000
"""Sessions of each source with per-session series in the loaded snapshot."""
_WORLD: Final = 2100
"""Rooms and streams in the loaded world: enough that at least 2,000 are always active and
listed. Offset paging over a world that moves while it is read (Livepeer's newest-lastSeen
order changes between pages) misses a few dozen of them at times: with 2,040 a poll saw as few
as 1,982, so the margin is 5 %."""
BUDGET: Final = 100_000
"""LiveKit requests per minute: never binds, so every active session's details are fetched."""
LOADED_ARGS: Final = (
    f"--livekit.requests-per-minute={BUDGET}",
    f"--livekit.max-sessions={SESSIONS}",
    f"--livepeer.max-sessions={SESSIONS}",
    "--poll.timeout=60s",
)


def loaded_config() -> SimulatorConfig:
    """A world with a little over 2,000 active sessions of each API."""
    return SimulatorConfig(
        seed=SEED, livekit_sessions=_WORLD, livepeer_sessions=_WORLD, active_fraction=1.0
    )


_LIVEKIT_SERIES: Final = re.compile(rb"^livekit_cloud_session_participants_active\{", re.M)
_LIVEPEER_SERIES: Final = re.compile(
    rb"^livepeer_studio_session_ingest_rate_bytes_per_second\{", re.M
)
_LIVEKIT_ACTIVE: Final = re.compile(rb"^livekit_cloud_sessions_active\{[^}]*\} (\S+)$", re.M)
_LIVEPEER_ACTIVE: Final = re.compile(rb"^livepeer_studio_sessions_active\{[^}]*\} (\S+)$", re.M)


def count_sessions(body: bytes) -> tuple[int, int, int, int]:
    """From a text exposition: sessions with per-session series (LiveKit, Livepeer) and the
    active sessions the aggregates count (LiveKit, Livepeer, summed over health)."""
    livekit_active = sum(float(v) for v in _LIVEKIT_ACTIVE.findall(body))
    livepeer_active = sum(float(v) for v in _LIVEPEER_ACTIVE.findall(body))
    return (
        len(_LIVEKIT_SERIES.findall(body)),
        len(_LIVEPEER_SERIES.findall(body)),
        int(livekit_active),
        int(livepeer_active),
    )
