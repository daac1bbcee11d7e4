"""Deterministic randomness: every random choice of both simulated worlds comes from here.

Every random stream comes from :func:`derive_rng`, keyed by the seed and a path
(``"livekit", slot, cycle``...). Seeding :class:`random.Random` with a string hashes it with
SHA-512, so a key always yields the same stream, in any process and whatever the order in
which parts of the world are first looked at: that is what makes lazy, incremental
simulation deterministic. The id formats of each API are drawn with :func:`random_text` and
:func:`uuid_from` by that API's ``model`` module.
"""

from __future__ import annotations

import random
import uuid

__all__ = ["derive_rng", "log_uniform", "project_seed", "random_text", "uuid_from"]


def derive_rng(seed: int, *path: object) -> random.Random:
    """A random stream that depends only on ``seed`` and ``path``."""
    key = "/".join([str(seed), *(str(part) for part in path)])
    return random.Random(key)  # noqa: S311  # simulation, not security


def project_seed(seed: int, index: int) -> int:
    """The seed of the world of project ``index`` (0-based) of a run seeded with ``seed``.

    The first project's is ``seed`` itself, so a one-project run is the world it always was;
    the others' are drawn from ``(seed, index)``, so every project's world differs.
    """
    return seed if index == 0 else derive_rng(seed, "project", index).getrandbits(63)


def random_text(rng: random.Random, alphabet: str, length: int) -> str:
    """``length`` characters drawn from ``alphabet``."""
    return "".join(rng.choices(alphabet, k=length))


def uuid_from(rng: random.Random, *, upper: bool = False) -> str:
    """A version-4 UUID string drawn from ``rng`` (Studio ids are UUIDs)."""
    text = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return text.upper() if upper else text


def log_uniform(rng: random.Random, low: float, high: float) -> float:
    """A value between ``low`` and ``high`` whose logarithm is uniform (durations, rates)."""
    return float(low * (high / low) ** rng.random())
