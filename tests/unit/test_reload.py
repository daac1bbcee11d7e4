"""Reloads: serialized and coalesced, refused without a change, watched by content."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from exporter.config.targets import Loaded, Shard
from exporter.errors import ConfigError
from exporter.exposition.self_metrics import SelfMetrics
from exporter.exposition.store import Store
from exporter.fleet import Fleet
from exporter.logs import get_logger
from exporter.poller import Poller
from exporter.reload import Reloader, content_hash
from tests.support.fakes import FakeClock, eventually

pytestmark = pytest.mark.anyio
EMPTY = Loaded((), (), 0.0)


@dataclass
class Rig:
    reloader: Reloader
    registry: CollectorRegistry
    clock: FakeClock

    def value(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(f"livesession_exporter_{name}", labels)


@asynccontextmanager
async def reloading(load: Callable[[], Loaded], loaded: Loaded = EMPTY) -> AsyncIterator[Rig]:
    """A reloader over an empty fleet, its task running until the block ends."""
    clock = FakeClock()
    registry = CollectorRegistry()
    metrics = SelfMetrics(registry)
    metrics.loaded(at=clock.time(), config_hash=loaded.hash, reload=False)
    store = Store(300)
    poller = Poller(store, clock, get_logger())
    fleet = Fleet(specs=(), shard=Shard(), poll_timeout=5.0, metrics=metrics, store=store,
                  poller=poller, clock=clock, log=get_logger())  # fmt: skip
    reloader = Reloader(load, loaded, fleet=fleet, metrics=metrics, clock=clock, log=get_logger())
    async with anyio.create_task_group() as tg:
        await tg.start(poller.run)
        tg.start_soon(reloader.run)
        yield Rig(reloader, registry, clock)
        tg.cancel_scope.cancel()


async def test_requests_during_a_reload_coalesce_into_one_more() -> None:
    """Five requests while a reload runs cost one more reload, and all hear its outcome."""
    release = threading.Event()
    calls: list[int] = []

    def load() -> Loaded:
        calls.append(1)
        if len(calls) == 1:
            release.wait(5)
        return Loaded((), (), float(len(calls)))

    async with reloading(load) as rig:
        outcomes = []

        async def ask() -> None:
            outcomes.append(await rig.reloader.request())

        async with anyio.create_task_group() as tg:
            tg.start_soon(ask)
            await eventually(lambda: len(calls) == 1, message="the first reload under way")
            for _ in range(5):
                tg.start_soon(ask)
            await anyio.wait_all_tasks_blocked()
            release.set()
        assert len(calls) == 2
        assert len(outcomes) == 6
        assert all(outcome.ok for outcome in outcomes)
        assert rig.value("config_reloads_total", result="success") == 2
        assert rig.value("config_hash") == 2.0


async def test_a_refused_reload_changes_nothing_and_says_why() -> None:
    """A load that fails leaves the configuration in force, sets the metrics, logs once."""

    def load() -> Loaded:
        raise ConfigError(["targets.yaml:3: livekit[0].name: name is required"])

    async with reloading(load, Loaded((), (), 7.0)) as rig:
        started = rig.value("config_last_reload_success_timestamp_seconds")
        with capture_logs() as logs:
            outcome = await rig.reloader.request()
        assert outcome.problems == ("targets.yaml:3: livekit[0].name: name is required",)
        assert not outcome.ok
        assert rig.value("config_last_reload_successful") == 0
        assert rig.value("config_reloads_total", result="failure") == 1
        assert rig.value("config_reloads_total", result="success") == 0
        assert rig.value("config_last_reload_success_timestamp_seconds") == started
        assert rig.value("config_hash") == 7.0
        (failed,) = [log for log in logs if log["event"] == "config_reload_failed"]
        assert failed["problems"] == list(outcome.problems)


async def test_the_watcher_reloads_when_a_watched_file_changes(tmp_path: Path) -> None:
    """A change of content, not of mtime or path, asks for one reload."""
    config = tmp_path / "targets.yaml"
    config.write_text("livekit: []\n")
    loads: list[bytes] = []

    def load() -> Loaded:
        loads.append(config.read_bytes())
        return Loaded((), (str(config),), 1.0)

    async with (
        reloading(load, Loaded((), (str(config),), 1.0)) as rig,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(rig.reloader.watch, 30.0)
        await anyio.wait_all_tasks_blocked()
        await rig.clock.advance(30)
        assert loads == []  # unchanged content: nothing to do
        config.write_text("livepeer: []\n")
        await rig.clock.advance(30)
        await eventually(lambda: loads == [b"livepeer: []\n"], message="one reload")
        await rig.clock.advance(30)
        assert len(loads) == 1
        tg.cancel_scope.cancel()


async def test_after_a_refusal_the_watcher_sees_a_missing_secret_arrive(tmp_path: Path) -> None:
    """A file that names a secret not mounted yet is refused; the secret's arrival, with no
    other change, triggers the reload that then succeeds."""
    config, secret = tmp_path / "targets.yaml", tmp_path / "new-secret"
    config.write_text("v2\n")

    def load() -> Loaded:
        if not secret.exists():
            raise ConfigError(["new-secret: cannot read"], files=(str(config), str(secret)))
        return Loaded((), (str(config), str(secret)), 2.0)

    async with reloading(load, Loaded((), (str(config),), 1.0)) as rig:
        assert not (await rig.reloader.request()).ok
        async with anyio.create_task_group() as tg:
            tg.start_soon(rig.reloader.watch, 30.0)
            await anyio.wait_all_tasks_blocked()
            secret.write_text("s3cr3t-value-0123456789\n")
            for _ in range(3):
                await rig.clock.advance(30)
            await eventually(
                lambda: rig.value("config_last_reload_successful") == 1, message="reloaded"
            )
            assert rig.value("config_hash") == 2.0
            tg.cancel_scope.cancel()


def test_content_hash_follows_content_through_symlinks(tmp_path: Path) -> None:
    """A Kubernetes-style ``..data`` swap changes the hash of the path read through it."""
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    (tmp_path / "v1" / "secret").write_text("one")
    (tmp_path / "v2" / "secret").write_text("two")
    (tmp_path / "..data").symlink_to("v1")
    (tmp_path / "secret").symlink_to("..data/secret")
    path = str(tmp_path / "secret")
    before = content_hash([path])
    (tmp_path / "..data_tmp").symlink_to("v2")
    (tmp_path / "..data_tmp").rename(tmp_path / "..data")
    assert content_hash([path]) != before
    assert content_hash([str(tmp_path / "missing")]) != content_hash([path])
