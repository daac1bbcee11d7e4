"""The ``target`` label and ``target_info`` (targets.md, "Labels"; metrics.md): targets of one
source whose sessions look alike, or that have none, never collide; the exposition stays one
valid document in both formats; ``target_info`` is one series per enabled target of the shard.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import pytest

from exporter.app import Exporter
from exporter.config.values import ListenAddress
from exporter.web.server import bind, bound_url, serve
from tests.integration.targets.targetfile import (
    LIVEKIT,
    LIVEPEER,
    OPENMETRICS,
    LiveKit,
    Livepeer,
    assert_one_document,
    every,
    exporter_for,
    labelled,
    livekit_targets,
    livepeer_targets,
    series,
    shard_of,
    targets_of,
    write_config,
)
from tests.support.simulated import Simulated, exposition, simulated

pytestmark = pytest.mark.anyio

ROOM = 'lobby ☕ "main"'
"""The same room name in two LiveKit projects (with characters the encoder must escape)."""
STREAM = "same-stream"


@asynccontextmanager
async def served(exporter: Exporter) -> AsyncIterator[httpx.AsyncClient]:
    """The exporter's web app on a loopback socket, and a client for it."""
    async with anyio.create_task_group() as tg:
        sock = bind(ListenAddress("127.0.0.1", 0))
        await tg.start(serve, exporter.app, sock)
        async with httpx.AsyncClient(base_url=bound_url(sock), timeout=5) as client:
            yield client
        tg.cancel_scope.cancel()


def lookalike_world(rig: Simulated) -> None:
    """LiveKit projects 0 and 1 each get a session in room ROOM with one session id; Studio
    projects 2 and 3 each a session of a stream with one id, name and session id; Studio
    projects 0 and 1 have no sessions at all."""
    for livekit in rig.sim.livekit_worlds[:2]:
        livekit.add_session(room_name=ROOM, session_id="RM_same")
    for studio in rig.sim.livepeer_worlds[2:4]:
        studio.add_session(stream_name=STREAM, stream_id="stream-same", session_id="session-same")


async def test_lookalike_targets_never_collide(tmp_path: Path) -> None:
    """The same room, stream and session ids in two targets, and two Studio keys with no
    sessions: every target's series are there, told apart by ``target`` only where all else
    is equal, and the scrape is one valid exposition in text and in OpenMetrics."""
    async with simulated(livekit_projects=2, livepeer_projects=4) as rig:
        lookalike_world(rig)
        livekit = livekit_targets(rig.endpoints)
        livepeer = livepeer_targets(rig.endpoints)
        config = write_config(tmp_path, livekit=livekit, livepeer=livepeer)
        async with exporter_for(rig, config) as exporter, served(exporter) as client:
            assert await exporter.poll_all_once()
            text = (await client.get("/metrics")).text
            found = series(text)
            assert targets_of(found) == {t.name for t in every(livekit, livepeer)}

            rooms = labelled(found, "livekit_cloud_session_participants", room=ROOM)
            assert {dict(labels)["target"] for _, labels in rooms} == {"lk-0", "lk-1"}
            assert len(rooms) == 2
            streams = labelled(found, "livepeer_studio_session_info", stream_name=STREAM)
            assert {dict(labels)["target"] for _, labels in streams} == {"lp-2", "lp-3"}
            assert len(streams) == 2

            # two keys without sessions: the same aggregates, apart by their target only
            for name in (
                "livepeer_studio_sessions_active",
                "livepeer_studio_ingest_rate_bytes_per_second",
                "livepeer_studio_outgoing_rate_bytes_per_second",
                "livepeer_studio_recordings",
            ):
                idle = {
                    target: {
                        frozenset(kv for kv in labels if kv[0] != "target"): value
                        for (_, labels), value in labelled(found, name, target=target).items()
                    }
                    for target in ("lp-0", "lp-1")
                }
                assert idle["lp-0"], f"{name} of lp-0 is missing"
                assert idle["lp-0"] == idle["lp-1"], name
                assert all(value == 0 for value in idle["lp-0"].values()), name

            assert_one_document(text, openmetrics=False)
            om = await client.get("/metrics", headers={"accept": OPENMETRICS})
            assert om.headers["content-type"].startswith("application/openmetrics-text")
            assert om.text.endswith("# EOF\n")
            parsed = assert_one_document(om.text, openmetrics=True)
            om_targets = {
                sample.labels["target"]
                for family in parsed
                if family.name.startswith(("livekit_cloud_", "livepeer_studio_"))
                for sample in family.samples
            }
            assert om_targets == {t.name for t in every(livekit, livepeer)}


async def test_every_data_series_carries_its_target(tmp_path: Path) -> None:
    """metrics.md: every data series and every per-target self-metric has ``target``, and its
    value is the name of a configured target of that series' source."""
    async with simulated(
        livekit_projects=3, livepeer_projects=3, livekit_sessions=5, livepeer_sessions=5
    ) as rig:
        livekit = livekit_targets(rig.endpoints)
        livepeer = livepeer_targets(rig.endpoints)
        config = write_config(tmp_path, livekit=livekit, livepeer=livepeer)
        async with exporter_for(rig, config) as exporter:
            assert await exporter.poll_all_once()
            found = series(exposition(exporter))
        names = {LIVEKIT: {t.name for t in livekit}, LIVEPEER: {t.name for t in livepeer}}
        for name, labels in found:
            label = dict(labels)
            if name.startswith("livekit_cloud_"):
                assert label.get("target") in names[LIVEKIT], (name, label)
            elif name.startswith("livepeer_studio_"):
                assert label.get("target") in names[LIVEPEER], (name, label)
            elif "source" in label:
                assert label.get("target") in names[label["source"]], (name, label)


async def test_target_info_is_one_per_enabled_target(tmp_path: Path) -> None:
    """``target_info{source, target, identity}`` = 1 for each enabled target, identity the
    project id or ``sha256:`` and 16 hex digits of the key; disabled targets have no
    target_info, no self-metrics and no data, even one polling an enabled target's account."""
    async with simulated(
        livekit_projects=3, livepeer_projects=3, livekit_sessions=3, livepeer_sessions=3
    ) as rig:
        lk = livekit_targets(rig.endpoints)
        lp = livepeer_targets(rig.endpoints)
        off = {"enabled": False}
        livekit = [
            lk[0],
            lk[1],
            LiveKit("lk-off", lk[2].project_id, lk[2].api_key, lk[2].api_secret, lk[2].url, off),
            LiveKit("lk-twin", lk[0].project_id, lk[0].api_key, lk[0].api_secret, lk[0].url, off),
        ]
        livepeer = [
            lp[0],
            Livepeer("lp-off", lp[1].api_key, lp[1].url, off),
            lp[2],
            Livepeer("lp-twin", lp[2].api_key, lp[2].url, off),
        ]
        config = write_config(tmp_path, livekit=livekit, livepeer=livepeer)
        async with exporter_for(rig, config) as exporter:
            assert await exporter.poll_all_once()
            found = series(exposition(exporter))
        info = labelled(found, "livesession_exporter_target_info")
        assert {labels: value for (_, labels), value in info.items()} == {
            frozenset({("source", LIVEKIT), ("target", t.name), ("identity", t.identity)}): 1.0
            for t in (lk[0], lk[1])
        } | {
            frozenset({("source", LIVEPEER), ("target", t.name), ("identity", t.identity)}): 1.0
            for t in (lp[0], lp[2])
        }
        assert all(
            dict(labels)["identity"].startswith("sha256:")
            and len(dict(labels)["identity"]) == len("sha256:") + 16
            for _, labels in labelled(found, "livesession_exporter_target_info", source=LIVEPEER)
        )
        assert targets_of(found) == {"lk-0", "lk-1", "lp-0", "lp-2"}


@pytest.mark.parametrize("total", [2, 3])
async def test_target_info_of_a_shard_is_its_own_targets(tmp_path: Path, total: int) -> None:
    """Each shard's target_info lists exactly the enabled targets it owns; over the shards,
    every enabled target once, and no disabled one."""
    async with simulated(livekit_projects=4, livepeer_projects=4) as rig:
        lk = livekit_targets(rig.endpoints)
        lp = livepeer_targets(rig.endpoints)
        off = {"enabled": False}
        disabled_lk = LiveKit(
            "lk-x", lk[3].project_id, lk[3].api_key, lk[3].api_secret, lk[3].url, off
        )
        disabled_lp = Livepeer("lp-x", lp[3].api_key, lp[3].url, off)
        enabled = every(lk[:3], lp[:3])
        config = write_config(
            tmp_path, livekit=[*lk[:3], disabled_lk], livepeer=[*lp[:3], disabled_lp]
        )
        seen: Counter[tuple[str, str]] = Counter()
        for ordinal in range(total):
            flags = (f"--shard={ordinal}", f"--total-shards={total}")
            async with exporter_for(rig, config, *flags) as shard:
                found = series(exposition(shard))
            info = {
                (dict(labels)["target"], dict(labels)["identity"])
                for _, labels in labelled(found, "livesession_exporter_target_info")
            }
            assert info == {
                (t.name, t.identity) for t in enabled if shard_of(t.identity, total) == ordinal
            }
            seen.update(info)
        assert seen == Counter((t.name, t.identity) for t in enabled)
