"""The real exporter process reading a ``--config.file`` that a test rewrites, against an
in-thread simulator serving several projects of each API (targets.md, "Reload").

:class:`Rig` writes the file (atomically, as an editor or a ConfigMap update would) from
:class:`Entry` values that name a simulated project, writes the secret files the entries
reference, starts ``python -m exporter`` on it, and reads what the exporter did: scrapes parsed
by prometheus-client's parser, and the simulator's request log split per project (a LiveKit
request names its project in the path, a Livepeer request carries its project's key).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from exporter.simulator import RecordedRequest, Simulator, SimulatorConfig
from exporter.simulator.config import LiveKitProject, LivepeerProject, SimulatorEndpoints
from tests.integration.faults.scrape import Exposition, Sample
from tests.support.processes import ExporterProcess, running_simulator, wait_for

__all__ = [
    "LIVEKIT",
    "LIVEPEER",
    "OPENMETRICS",
    "Entry",
    "ProjectedVolume",
    "Rig",
    "check_body",
    "livepeer_identity",
    "metrics",
    "polled",
    "reload",
    "reload_rig",
    "series_of",
    "stat",
]

LIVEKIT: Final = "livekit_cloud"
LIVEPEER: Final = "livepeer_studio"
SELF: Final = "livesession_exporter_"
OPENMETRICS: Final = "application/openmetrics-text; version=1.0.0"
AGGREGATE: Final = {
    LIVEKIT: "livekit_cloud_sessions_active",
    LIVEPEER: "livepeer_studio_sessions_active",
}
"""A project-level family each source exposes while a target's data is fresh."""
_SECTION: Final = {LIVEKIT: "livekit", LIVEPEER: "livepeer"}
_HEADER: Final = re.compile(r"# (HELP|TYPE|UNIT) (\S+)")


def livepeer_identity(key: str) -> str:
    """A Livepeer target's identity (targets.md, "Precise points")."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:16]


def stat(m: Exposition, name: str, target: str, **labels: str) -> float | None:
    """The value of self-metric ``livesession_exporter_<name>`` of ``target``."""
    return m.value(SELF + name, target=target, **labels)


def series_of(m: Exposition, target: str) -> list[Sample]:
    """Every sample of any family whose ``target`` label is ``target``."""
    return [s for name in list(m.names()) for s in m.samples(name, target=target)]


def check_body(text: str, *, openmetrics: bool = False) -> None:
    """The body parses, and no family header and no series appears twice."""
    headers = Counter(
        (match.group(1), match.group(2))
        for line in text.splitlines()
        if (match := _HEADER.match(line))
    )
    twice = [header for header, count in headers.items() if count > 1]
    assert not twice, f"family headers repeated: {twice[:5]}"
    parse = openmetrics_families if openmetrics else text_string_to_metric_families
    seen: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
    for family in parse(text):
        for sample in family.samples:
            seen[(sample.name, tuple(sorted(sample.labels.items())))] += 1
    repeated = [series for series, count in seen.items() if count > 1]
    assert not repeated, f"series repeated: {repeated[:5]}"


@dataclass(frozen=True)
class Entry:
    """One target of the file: its source, its keys in file order (``name`` first)."""

    source: str
    keys: Mapping[str, str]

    @property
    def name(self) -> str:
        return self.keys["name"]

    def with_keys(self, **keys: str) -> Entry:
        """The same target with ``keys`` added or replaced."""
        return Entry(self.source, {**self.keys, **keys})


class ProjectedVolume:
    """A directory written as the kubelet writes a ConfigMap or Secret volume: each version in
    a fresh ``..<timestamp>`` directory, ``..data`` a symlink to the current one swapped
    atomically (a new symlink renamed over it), and each file a symlink ``name ->
    ..data/name`` that never changes itself."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._version = 0
        root.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        return self.root / name

    def publish(self, files: Mapping[str, str]) -> None:
        """Make ``files`` (name → content) the volume's content, in one atomic swap."""
        self._version += 1
        version = f"..2026_01_01_00_00_{self._version:02d}.000000001"
        (self.root / version).mkdir()
        for name, content in files.items():
            (self.root / version / name).write_text(content, encoding="utf-8")
        data = self.root / "..data"
        old = os.readlink(data) if data.is_symlink() else None
        scratch = self.root / "..data_tmp"
        os.symlink(version, scratch)
        os.rename(scratch, data)
        for name in files:
            link = self.root / name
            if not link.is_symlink():
                os.symlink(f"..data/{name}", link)
        if old is not None:
            shutil.rmtree(self.root / old)


@dataclass
class Rig:
    """A running simulator, a directory for the file and its secrets, and the exporter."""

    sim: Simulator
    root: Path

    @property
    def endpoints(self) -> SimulatorEndpoints:
        assert self.sim.endpoints is not None
        return self.sim.endpoints

    @property
    def config(self) -> Path:
        return self.root / "exporter.yaml"

    @property
    def secrets(self) -> list[str]:
        """Every credential of every simulated project: none may ever be shown."""
        e = self.endpoints
        return [p.api_secret for p in e.livekit_projects] + [p.api_key for p in e.livepeer_projects]

    def livekit_project(self, index: int) -> LiveKitProject:
        return self.endpoints.livekit_projects[index]

    def livepeer_project(self, index: int) -> LivepeerProject:
        return self.endpoints.livepeer_projects[index]

    # -- the file ---------------------------------------------------------------------------

    def write_file(self, path: Path, text: str) -> Path:
        """Replace ``path`` atomically (a reader sees the old or the new content, never half)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_name(f".{path.name}.tmp")
        scratch.write_text(text, encoding="utf-8")
        os.replace(scratch, path)
        return path

    def livekit(self, name: str, project: int = 0, **keys: str) -> Entry:
        """A LiveKit target polling simulated project ``project``; its secret file written
        unless ``api_secret_file`` (or ``api_secret_env``) is given."""
        p = self.livekit_project(project)
        if "api_secret_file" not in keys and "api_secret_env" not in keys:
            path = self.write_file(self.root / "secrets" / f"livekit-{name}", p.api_secret + "\n")
            keys["api_secret_file"] = str(path)
        return Entry(
            LIVEKIT, {"name": name, "project_id": p.project_id, "api_key": p.api_key, **keys}
        )

    def livepeer(self, name: str, project: int = 0, **keys: str) -> Entry:
        """A Livepeer target with simulated project ``project``'s key; its key file written
        unless ``api_key_file`` (or ``api_key_env``) is given."""
        if "api_key_file" not in keys and "api_key_env" not in keys:
            key = self.livepeer_project(project).api_key
            path = self.write_file(self.root / "secrets" / f"livepeer-{name}", key + "\n")
            keys["api_key_file"] = str(path)
        return Entry(LIVEPEER, {"name": name, **keys})

    def render(self, entries: Sequence[Entry], extra: str = "") -> str:
        """The YAML of ``entries``, with defaults pointing both sources at the simulator."""
        e = self.endpoints
        lines = [
            "defaults:",
            "  livekit:",
            f"    url: {e.livekit_url}",
            "    requests_per_minute: 6000",  # never rations the few sessions used here
            "  livepeer:",
            f"    url: {e.livepeer_url}",
        ]
        for source in (LIVEKIT, LIVEPEER):
            listed = [entry for entry in entries if entry.source == source]
            if listed:
                lines.append(f"{_SECTION[source]}:")
            for entry in listed:
                for index, (key, value) in enumerate(entry.keys.items()):
                    lines.append(f"  {'-' if index == 0 else ' '} {key}: {value}")
        return "\n".join(lines) + "\n" + extra

    def write(self, *entries: Entry, extra: str = "") -> str:
        """Write the configuration file listing ``entries`` (plus raw ``extra`` YAML)."""
        text = self.render(entries, extra)
        self.write_file(self.config, text)
        return text

    # -- the exporter -----------------------------------------------------------------------

    def exporter(
        self,
        *flags: str,
        interval: str = "1s",
        config: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> ExporterProcess:
        """``python -m exporter --config.file <file> ...`` (not started: use ``with``)."""
        path = str(config or self.config)
        return ExporterProcess(["--config.file", path, f"--poll.interval={interval}", *flags], env)

    # -- observation ------------------------------------------------------------------------

    def livekit_requests(self, project: int, endpoint: str | None = None) -> list[RecordedRequest]:
        """Requests for LiveKit project ``project`` (of ``endpoint``, if given), oldest first."""
        prefix = f"/api/project/{self.livekit_project(project).project_id}/"
        return [
            r
            for r in self.sim.log.records
            if r.api == "livekit"
            and r.raw_path.startswith(prefix)
            and (endpoint is None or r.endpoint == endpoint)
        ]

    def livepeer_requests(self, project: int) -> list[RecordedRequest]:
        """Requests carrying Livepeer project ``project``'s key, oldest first."""
        bearer = f"Bearer {self.livepeer_project(project).api_key}"
        return [
            r
            for r in self.sim.log.records
            if r.api == "livepeer" and r.header("authorization") == bearer
        ]


def metrics(process: ExporterProcess, **headers: str) -> Exposition:
    """One scrape of ``process``, parsed, after checking it parses cleanly."""
    assert process.returncode is None, f"exporter exited: {process.stderr}"
    text = process.scrape(**headers)
    check_body(text)
    return Exposition(text)


def reload(process: ExporterProcess, method: str = "POST") -> httpx.Response:
    """Ask ``process`` for a reload over HTTP; the response comes once it has ended."""
    return httpx.request(method, process.base + "-/reload", timeout=30)


def polled(process: ExporterProcess, source: str, target: str, *, polls: float = 1) -> Exposition:
    """Wait until ``target`` has finished ``polls`` polls, the last successful, data shown."""

    def ready() -> Exposition | None:
        m = metrics(process)
        done = (stat(m, "source_polls_total", target, source=source) or 0) >= polls
        up = stat(m, "source_up", target, source=source) == 1
        good = up and m.has(AGGREGATE[source], target=target)
        return m if done and good else None

    found: Exposition = wait_for(ready, within=10, what=f"{target} polled {polls} time(s)")
    return found


@contextmanager
def reload_rig(root: Path) -> Iterator[Rig]:
    """A simulator with two projects of each API (small worlds), and a rig around it."""
    config = SimulatorConfig(
        seed=11, livekit_sessions=6, livepeer_sessions=4, livekit_projects=2, livepeer_projects=2
    )
    with running_simulator(config) as sim:
        yield Rig(sim, root)
