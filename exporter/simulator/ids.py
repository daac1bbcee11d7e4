"""Deterministic randomness and the identifiers and names both simulated APIs hand out.

Every random choice in the world comes from :func:`derive_rng`, keyed by the seed and a path
(``"livekit", slot, cycle``...). Seeding :class:`random.Random` with a string hashes it with
SHA-512, so a key always yields the same stream, in any process and whatever the order in
which parts of the world are first looked at: that is what makes lazy, incremental
simulation deterministic.
"""

from __future__ import annotations

import random
import string
import uuid

__all__ = [
    "derive_rng",
    "livekit_participant_id",
    "livekit_session_id",
    "log_uniform",
    "playback_id",
    "stream_key",
    "uuid_from",
]

_BASE62 = string.digits + string.ascii_letters
_LOWER36 = string.digits + string.ascii_lowercase


def derive_rng(seed: int, *path: object) -> random.Random:
    """A random stream that depends only on ``seed`` and ``path``."""
    key = "/".join([str(seed), *(str(part) for part in path)])
    return random.Random(key)  # noqa: S311  # simulation, not security


def _pick(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choices(alphabet, k=length))


def livekit_session_id(rng: random.Random) -> str:
    """A room session id in LiveKit's ``RM_`` + 12 base62 characters form."""
    return "RM_" + _pick(rng, _BASE62, 12)


def livekit_participant_id(rng: random.Random) -> str:
    """A participant session id, ``PA_`` + 12 base62 characters."""
    return "PA_" + _pick(rng, _BASE62, 12)


def uuid_from(rng: random.Random, *, upper: bool = False) -> str:
    """A version-4 UUID string drawn from ``rng`` (Studio ids are UUIDs)."""
    text = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return text.upper() if upper else text


def playback_id(rng: random.Random) -> str:
    """A 16-character Livepeer playback id such as ``eaw4nk06ts2d0mzb``."""
    return _pick(rng, _LOWER36, 16)


def stream_key(rng: random.Random) -> str:
    """A Livepeer stream key: four dash-separated groups of four characters."""
    return "-".join(_pick(rng, _LOWER36, 4) for _ in range(4))


def log_uniform(rng: random.Random, low: float, high: float) -> float:
    """A value between ``low`` and ``high`` whose logarithm is uniform (durations, rates)."""
    return float(low * (high / low) ** rng.random())
