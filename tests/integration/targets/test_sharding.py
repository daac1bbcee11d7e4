"""Sharding (targets.md, "Sharding"): M exporters with ``--shard i --total-shards M`` over one
file, polling the simulator's projects over loopback at one instant of one clock, publish
between them exactly the series of one unsharded exporter, each series in one shard only, each
target in the shard ``jump_hash(fnv1a_64(identity), M)`` names."""

from __future__ import annotations

from pathlib import Path

import pytest

from exporter.app import Exporter
from tests.integration.targets.targetfile import (
    LIVEKIT,
    LIVEPEER,
    Series,
    every,
    exporter_for,
    fnv1a_64,
    jump,
    livekit_targets,
    livepeer_targets,
    series,
    shard_of,
    targets_of,
    write_config,
)
from tests.support.simulated import exposition, simulated

pytestmark = pytest.mark.anyio

PROJECTS = 6
GLOBAL = (
    "livesession_exporter_build_info",
    "livesession_exporter_shard_ordinal",
    "livesession_exporter_total_shards",
    "livesession_exporter_config_",
)
"""Self-metrics of the process, not of a target: each shard has its own."""
MEASURED = "livesession_exporter_api_request_duration_seconds"
"""Request latency: measured, so it may differ between two polls of the same world."""


def per_target(found: Series) -> Series:
    """Every data series and every self-metric series of a target (target_info included)."""
    kept: Series = {}
    for key, value in found.items():
        name, labels = key
        if name.startswith(GLOBAL) or name.startswith(MEASURED):
            continue
        assert name.startswith(("livekit_cloud_", "livepeer_studio_", "livesession_exporter_")), (
            f"unexpected series {name}"
        )
        assert "target" in dict(labels), f"{name}{dict(labels)} has no target label"
        kept[key] = value
    return kept


async def polled(exporter: Exporter) -> Series:
    """The exporter's series after one poll of each of its targets (all must succeed)."""
    assert await exporter.poll_all_once()
    return series(exposition(exporter))


def test_the_oracle_agrees_with_published_vectors() -> None:
    """The test's FNV-1a 64 and jump hash give the published values (so the oracle that the
    shard tests use is the contract's function, not a copy of the exporter's)."""
    assert fnv1a_64("") == 0xCBF29CE484222325
    assert fnv1a_64("a") == 0xAF63DC4C8601EC8C
    assert fnv1a_64("foobar") == 0x85944171F73967E8
    assert jump(256, 1024) == 520
    assert jump(10863919174838991, 11) == 6
    assert jump(2016238256797177309, 11) == 3
    assert all(jump(key, 1) == 0 for key in range(100))


@pytest.mark.parametrize("total", [2, 3])
async def test_shards_partition_the_series_of_one_unsharded_exporter(
    tmp_path: Path, total: int
) -> None:
    """The union of the shards' series is exactly the unsharded exporter's (values included),
    no series is in two shards, and each target is polled by the shard the oracle names."""
    async with simulated(
        livekit_projects=PROJECTS, livepeer_projects=PROJECTS, livekit_sessions=4,
        livepeer_sessions=4,
    ) as rig:  # fmt: skip
        livekit = livekit_targets(rig.endpoints)
        livepeer = livepeer_targets(rig.endpoints)
        config = write_config(tmp_path, livekit=livekit, livepeer=livepeer)
        async with exporter_for(rig, config) as whole:
            everything = per_target(await polled(whole))
        assert targets_of(everything) == {t.name for t in every(livekit, livepeer)}
        assert any(name.startswith("livekit_cloud_session_") for name, _ in everything)
        assert any(name.startswith("livepeer_studio_session_") for name, _ in everything)

        shards: list[Series] = []
        for ordinal in range(total):
            flags = ("--shard", str(ordinal), "--total-shards", str(total))
            async with exporter_for(rig, config, *flags) as shard:
                own = await polled(shard)
                assert own[("livesession_exporter_shard_ordinal", frozenset())] == ordinal
                assert own[("livesession_exporter_total_shards", frozenset())] == total
                expected = {
                    t.name
                    for t in every(livekit, livepeer)
                    if shard_of(t.identity, total) == ordinal
                }
                assert {t.source.target for t in shard.fleet.targets} == expected
                shards.append(per_target(own))
                assert targets_of(shards[-1]) == expected, f"shard {ordinal}"

        union: Series = {}
        for ordinal, own in enumerate(shards):
            twice = union.keys() & own.keys()
            assert not twice, f"shard {ordinal} repeats {sorted(twice)[:3]}"
            union.update(own)
        assert union.keys() == everything.keys()
        assert union == everything


async def test_one_shard_of_one_is_the_unsharded_exporter(tmp_path: Path) -> None:
    """``--shard 0 --total-shards 1`` polls every target; the self-metrics say 0 of 1."""
    async with simulated(livekit_projects=2, livepeer_projects=2, livekit_sessions=2) as rig:
        config = write_config(
            tmp_path,
            livekit=livekit_targets(rig.endpoints),
            livepeer=livepeer_targets(rig.endpoints),
        )
        async with exporter_for(rig, config) as whole:
            everything = await polled(whole)
        async with exporter_for(rig, config, "--shard=0", "--total-shards=1") as one:
            alone = await polled(one)
        assert per_target(alone) == per_target(everything)
        for found in (everything, alone):
            assert found[("livesession_exporter_shard_ordinal", frozenset())] == 0
            assert found[("livesession_exporter_total_shards", frozenset())] == 1


async def test_a_shard_validates_every_target_but_builds_only_its_own(tmp_path: Path) -> None:
    """Each shard loads the whole file (a target of another shard is still in its settings)
    and builds a source, a loop and self-metric series only for the targets it owns."""
    async with simulated(livekit_projects=PROJECTS, livepeer_projects=PROJECTS) as rig:
        livekit = livekit_targets(rig.endpoints)
        livepeer = livepeer_targets(rig.endpoints)
        config = write_config(tmp_path, livekit=livekit, livepeer=livepeer)
        seen: dict[str, int] = {}
        for ordinal in range(3):
            flags = ("--shard", str(ordinal), "--total-shards", "3")
            async with exporter_for(rig, config, *flags) as shard:
                assert len(shard.settings.targets) == 2 * PROJECTS
                for target in shard.fleet.targets:
                    seen[target.source.target] = ordinal
                info = {
                    dict(labels)["target"]
                    for name, labels in series(exposition(shard))
                    if name == "livesession_exporter_target_info"
                }
                assert info == {t.source.target for t in shard.fleet.targets}
                kinds = {t.source.kind for t in shard.fleet.targets}
                assert kinds <= {LIVEKIT, LIVEPEER}
        assert seen == {t.name: shard_of(t.identity, 3) for t in every(livekit, livepeer)}


async def test_a_statefulset_pod_name_gives_the_shard(tmp_path: Path) -> None:
    """``--shard.from-pod-name exporter-2`` is shard 2: its ordinal self-metric and targets."""
    async with simulated(livekit_projects=PROJECTS, livepeer_projects=PROJECTS) as rig:
        livekit = livekit_targets(rig.endpoints)
        livepeer = livepeer_targets(rig.endpoints)
        config = write_config(tmp_path, livekit=livekit, livepeer=livepeer)
        flags = ("--shard.from-pod-name", "livesession-exporter-2", "--total-shards", "3")
        async with exporter_for(rig, config, *flags) as shard:
            own = series(exposition(shard))
            assert {t.source.target for t in shard.fleet.targets} == {
                t.name for t in every(livekit, livepeer) if shard_of(t.identity, 3) == 2
            }
        assert own[("livesession_exporter_shard_ordinal", frozenset())] == 2
        assert own[("livesession_exporter_total_shards", frozenset())] == 3
