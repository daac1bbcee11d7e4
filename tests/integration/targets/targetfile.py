"""Configuration files listing many targets of the simulator's projects, an in-process exporter
for such a file, and an exposition read as a set of series.

:func:`write_config` writes a ``--config.file`` (and one secret file per target) for
:class:`LiveKit` and :class:`Livepeer` entries; :func:`exporter_for` builds an exporter from it
on the rig's clock (:mod:`tests.support.simulated`); :func:`series` turns a text exposition into
``{(name, labels): value}`` and :func:`assert_one_document` checks a scrape is one valid
exposition (text or OpenMetrics: each family and header once). The sharding oracle
(:func:`shard_of`) is written here from the contract (FNV-1a 64 of the identity's UTF-8
bytes, then Lamping and Veach's jump hash), apart from the exporter's own, and checked against
published test vectors.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families as _om_parse
from prometheus_client.parser import text_string_to_metric_families

from exporter.app import Exporter, build_exporter
from exporter.config.settings import Settings
from exporter.simulator import SimulatorEndpoints
from exporter.sources.registry import SOURCES
from tests.support.simulated import Simulated

__all__ = [
    "LIVEKIT",
    "LIVEPEER",
    "OPENMETRICS",
    "LiveKit",
    "Livepeer",
    "Series",
    "TargetEntry",
    "assert_one_document",
    "every",
    "exporter_for",
    "fnv1a_64",
    "jump",
    "livekit_targets",
    "livepeer_identity",
    "livepeer_targets",
    "series",
    "shard_of",
    "write_config",
]

om_parse: Callable[[str], Iterable[Metric]] = _om_parse  # untyped upstream
OPENMETRICS: Final = "application/openmetrics-text; version=1.0.0"
LIVEKIT: Final = "livekit_cloud"
LIVEPEER: Final = "livepeer_studio"
# a budget that never rations, so every poll is whole
FAST_BUDGET: Final = {"livekit": {"requests_per_minute": 100000}}

Labels = frozenset[tuple[str, str]]
Series = dict[tuple[str, Labels], float]


@dataclass(frozen=True)
class LiveKit:
    """A LiveKit target of the file: its name, account, where it is served, any other keys."""

    name: str
    project_id: str
    api_key: str
    api_secret: str = field(repr=False)
    url: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        return self.project_id


@dataclass(frozen=True)
class Livepeer:
    """A Livepeer target of the file: its name, key, where it is served, any other keys."""

    name: str
    api_key: str = field(repr=False)
    url: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        return livepeer_identity(self.api_key)


TargetEntry = LiveKit | Livepeer


def every(livekit: Sequence[LiveKit], livepeer: Sequence[Livepeer]) -> list[TargetEntry]:
    """The targets of both sources, LiveKit first."""
    return [*livekit, *livepeer]


def livekit_targets(endpoints: SimulatorEndpoints, prefix: str = "lk") -> list[LiveKit]:
    """One target per LiveKit project of the simulator, named ``<prefix>-<index>``."""
    return [
        LiveKit(f"{prefix}-{i}", p.project_id, p.api_key, p.api_secret, endpoints.livekit_url)
        for i, p in enumerate(endpoints.livekit_projects)
    ]


def livepeer_targets(endpoints: SimulatorEndpoints, prefix: str = "lp") -> list[Livepeer]:
    """One target per Studio project of the simulator, named ``<prefix>-<index>``."""
    return [
        Livepeer(f"{prefix}-{i}", p.api_key, endpoints.livepeer_url)
        for i, p in enumerate(endpoints.livepeer_projects)
    ]


def write_config(
    directory: Path,
    *,
    livekit: Sequence[LiveKit] = (),
    livepeer: Sequence[Livepeer] = (),
    defaults: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Write ``config.yaml`` and each target's secret file into ``directory``; its path."""
    secrets = directory / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    document: dict[str, Any] = {"defaults": dict(FAST_BUDGET if defaults is None else defaults)}
    if livekit:
        document["livekit"] = []
        for lk in livekit:
            path = secrets / f"livekit-{lk.name}"
            path.write_text(lk.api_secret + "\n", encoding="utf-8")
            entry = {
                "name": lk.name,
                "project_id": lk.project_id,
                "api_key": lk.api_key,
                "api_secret_file": str(path),
                "url": lk.url,
                **lk.options,
            }
            document["livekit"].append(entry)
    if livepeer:
        document["livepeer"] = []
        for lp in livepeer:
            path = secrets / f"livepeer-{lp.name}"
            path.write_text(lp.api_key + "\n", encoding="utf-8")
            entry = {"name": lp.name, "api_key_file": str(path), "url": lp.url, **lp.options}
            document["livepeer"].append(entry)
    config = directory / "config.yaml"
    config.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return config


def settings_for(config: Path, *flags: str) -> Settings:
    """The settings a start with ``--config.file config`` and ``flags`` would have."""
    return Settings.from_sources(["--config.file", str(config), *flags], {}, SOURCES)


@asynccontextmanager
async def exporter_for(rig: Simulated, config: Path, *flags: str) -> AsyncIterator[Exporter]:
    """An exporter of ``config`` (and ``flags``) on the rig's clock and a fresh registry."""
    async with build_exporter(
        settings_for(config, *flags), clock=rig.clock, registry=CollectorRegistry()
    ) as exporter:
        yield exporter


def series(text: str) -> Series:
    """Every sample of a text exposition by (name, labels); a repeated series is an error."""
    found: Series = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in found, f"series exposed twice: {sample.name}{sample.labels}"
            found[key] = float(sample.value)
    return found


def headers(text: str) -> Counter[tuple[str, str]]:
    """How often each ``# HELP``/``# TYPE`` line names each family."""
    found: Counter[tuple[str, str]] = Counter()
    for line in text.splitlines():
        if line.startswith(("# HELP ", "# TYPE ")):
            kind, name = line.split(" ", 3)[1:3]
            found[(kind, name)] += 1
    return found


def assert_one_document(text: str, *, openmetrics: bool) -> list[Metric]:
    """``text`` parses as its format, each family once, each header once, no repeated series."""
    parsed = list(om_parse(text) if openmetrics else text_string_to_metric_families(text))
    names = Counter(family.name for family in parsed)
    assert [name for name, n in names.items() if n > 1] == []
    repeated = [header for header, n in headers(text).items() if n > 1]
    assert repeated == []
    samples = Counter(
        (sample.name, frozenset(sample.labels.items()))
        for family in parsed
        for sample in family.samples
    )
    assert [key for key, n in samples.items() if n > 1] == []
    return parsed


def labelled(found: Series, name: str, **labels: str) -> dict[tuple[str, Labels], float]:
    """The series named ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return {key: v for key, v in found.items() if key[0] == name and wanted <= key[1]}


def targets_of(found: Series, names: Iterable[str] | None = None) -> set[str]:
    """The ``target`` label values of the series (of ``names`` only, when given)."""
    allowed = None if names is None else set(names)
    return {
        value
        for (name, labels) in found
        if allowed is None or name in allowed
        for key, value in labels
        if key == "target"
    }


# -- the sharding oracle, from the contract ---------------------------------------------------

_MASK: Final = (1 << 64) - 1


def fnv1a_64(text: str) -> int:
    """FNV-1a, 64 bits, of ``text``'s UTF-8 bytes."""
    value = 0xCBF29CE484222325
    for byte in text.encode("utf-8"):
        value ^= byte
        value = (value * 0x100000001B3) & _MASK
    return value


def jump(key: int, buckets: int) -> int:
    """Lamping and Veach's jump consistent hash (their C++ listing, in 64-bit arithmetic)."""
    b, j = -1, 0
    while j < buckets:
        b = j
        key = (key * 2862933555777941757 + 1) & _MASK
        j = int(float(b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b


def shard_of(identity: str, total: int) -> int:
    return jump(fnv1a_64(identity), total)


def livepeer_identity(key: str) -> str:
    """``sha256:`` and the first 16 hex digits of the SHA-256 of the key's UTF-8 bytes."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]
