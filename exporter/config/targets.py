"""Targets as configured: what a target is, the set a load produced, and which shard owns one.

A :class:`TargetSettings` is one upstream account to poll, from ``--config.file`` or from the
per-source flags. Its ``identity`` is the account itself (a LiveKit project id, a digest of a
Livepeer key), so a reload matches targets by what they poll and sharding never moves a target
because it was renamed. A target belongs to shard ``jump_hash(fnv1a_64(identity), total)``
(Lamping and Veach's jump consistent hash, as kube-state-metrics shards), so changing the
number of shards moves about 1/total of the targets.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Final, Protocol

from exporter.config.flags import Flag
from exporter.config.resolve import Resolver
from exporter.config.secrets import Secret, SecretInput, SecretReader

__all__ = [
    "Loaded",
    "Shard",
    "SourceOptions",
    "SourceSettings",
    "TargetSettings",
    "fnv1a_64",
    "jump_hash",
    "ordinal_from_pod_name",
    "spread",
]

_FNV_OFFSET: Final = 0xCBF29CE484222325
_FNV_PRIME: Final = 0x100000001B3
_MASK: Final = (1 << 64) - 1
_POD_ORDINAL: Final = re.compile(r"-(\d+)\Z")


class SourceSettings(Protocol):
    """One target's settings as its source parsed them, as the core sees them."""

    @property
    def target(self) -> str | None:
        """The ``target`` label the flags give it, when configured to run, else None."""

    @property
    def identity(self) -> str | None:
        """The upstream account it polls, when configured to run, else None."""

    @property
    def poll_interval(self) -> float:
        """Seconds between the starts of two polls."""

    @property
    def secrets(self) -> tuple[Secret, ...]:
        """Every secret of this target, for the log redactor."""


class SourceOptions(Protocol):
    """What configuration needs of one kind of source: its flags, secrets and parser."""

    @property
    def kind(self) -> str:
        """The ``source`` label."""

    @property
    def section(self) -> str:
        """Its flags' prefix (``livekit``), and its list's key in ``--config.file``."""

    @property
    def flags(self) -> tuple[Flag[object], ...]:
        """Its flags, in ``--help`` order."""

    @property
    def secrets(self) -> tuple[SecretInput, ...]:
        """Where its secrets come from."""

    @property
    def enable_hint(self) -> str:
        """How to configure it, for the error when no source is."""

    def configure(self, resolver: Resolver, reader: SecretReader) -> SourceSettings:
        """Parse one target's settings; problems go to ``resolver.problems``."""


@dataclass(frozen=True, slots=True)
class TargetSettings:
    """One target: its source, name (the ``target`` label), identity and settings.

    Two targets are the same when all of this is equal: settings and secrets included
    (secrets compare by value), which is how a reload tells a changed target from one to keep.
    """

    kind: str
    name: str
    identity: str
    settings: SourceSettings
    enabled: bool = True

    @property
    def interval(self) -> float:
        return self.settings.poll_interval


@dataclass(frozen=True, slots=True)
class Loaded:
    """What one load of the configuration produced."""

    targets: tuple[TargetSettings, ...]
    """Every target, disabled ones too, in file (or flag) order."""
    files: tuple[str, ...]
    """The configuration file and every secret file it names, to watch for changes."""
    hash: float
    """A number derived from the configuration file's content (0 without a file)."""


@dataclass(frozen=True, slots=True)
class Shard:
    """This process's share of the targets."""

    ordinal: int = 0
    total: int = 1

    def owns(self, identity: str) -> bool:
        return self.total == 1 or jump_hash(fnv1a_64(identity), self.total) == self.ordinal


def fnv1a_64(text: str) -> int:
    """FNV-1a, 64 bits, over ``text``'s UTF-8 bytes."""
    value = _FNV_OFFSET
    for byte in text.encode():
        value = ((value ^ byte) * _FNV_PRIME) & _MASK
    return value


def jump_hash(key: int, buckets: int) -> int:
    """Lamping and Veach's jump consistent hash of a 64-bit ``key`` into ``buckets``."""
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & _MASK
        j = int((b + 1) * ((1 << 31) / ((key >> 33) + 1)))
    return b


def ordinal_from_pod_name(name: str) -> int:
    """The ordinal of a StatefulSet pod name (``exporter-2`` → 2); ValueError if none."""
    match = _POD_ORDINAL.search(name)
    if match is None:
        raise ValueError(f"{name!r} does not end in -<ordinal> like a StatefulSet pod's name")
    return int(match.group(1))


def spread(identity: str, interval: float) -> float:
    """Where in ``interval`` a target's first poll falls: fixed per identity, so several
    targets starting together poll apart, and the same ones again after a restart.

    SHA-256, not FNV-1a: FNV's top bits barely move between ids that differ in their last
    characters (``p_001``, ``p_002``), which would put their first polls at one instant.
    """
    mixed = int.from_bytes(hashlib.sha256(identity.encode()).digest()[:8]) >> 11
    return interval * mixed / (1 << 53)
