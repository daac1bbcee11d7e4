"""CPU of decoding and snapshot building for 10,000 sessions of each API.

The payloads are what the simulator serves, byte for byte: its worlds (10,000 rooms and
10,000 streams, ``active_fraction=1.0``) rendered by its own JSON encoders into pages of 100,
plus the empty page a poll ends on after a full one. What is timed is the exporter's own path
from body bytes to snapshot: for LiveKit ``decode_json`` + ``parse_page`` per page, the
source's de-duplication by ``sessionId``, and ``build_snapshot`` (details known for every
active session, as after a poll with budget to spare); for Livepeer ``parse_page`` per page,
the source's de-duplication by ``id`` and ``build_snapshot``. The de-duplication loops mirror
that of the sources' shared page loop (``read_pages``), which also does HTTP; everything else is the
exporter's code as is, with its default settings (``max-sessions`` 1000).

CPU is ``time.process_time()`` (this process, all threads), the median of several runs after a
warm-up, with the garbage collector on as in production. Rendering the snapshot (done once per
poll, in a worker thread) and decoding details bodies are reported too, as information.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Final, TypeVar

from bench.results import Result, fmt_ms, median
from bench.worlds import SEED
from exporter.config.settings import Settings
from exporter.exposition.render import render_chunk
from exporter.simulator import FakeClock
from exporter.simulator.http.fault_effects import encode_json
from exporter.simulator.livekit.encoding import encode_details, encode_list_item, livekit_style
from exporter.simulator.livekit.world import LiveKitWorld
from exporter.simulator.livepeer.encoding import encode_session, livepeer_floats
from exporter.simulator.livepeer.world import LivepeerWorld
from exporter.sources.livekit.metrics import families as livekit_families
from exporter.sources.livekit.settings import LiveKitSettings
from exporter.sources.livekit.snapshot import LiveKitSnapshot
from exporter.sources.livekit.snapshot import build_snapshot as build_livekit
from exporter.sources.livekit.wire import (
    ListedSession,
    SessionDetails,
    parse_details,
)
from exporter.sources.livekit.wire import (
    parse_page as parse_livekit_page,
)
from exporter.sources.livepeer.metrics import families as livepeer_families
from exporter.sources.livepeer.settings import LivepeerSettings
from exporter.sources.livepeer.snapshot import LivepeerSnapshot, Windows
from exporter.sources.livepeer.snapshot import build_snapshot as build_livepeer
from exporter.sources.livepeer.wire import LivepeerSession, parse_page
from exporter.sources.registry import SOURCES
from exporter.sources.upstream import decode_json

__all__ = ["run"]

GROUP: Final = "Poll"
SESSIONS: Final = 10_000
PAGE: Final = 100
RUNS: Final = 7
LIMIT_S: Final = 0.100
DETAILS_BODIES: Final = 1_000
PROJECT: Final = "p_benchmark"
_NS: Final = 1_000_000_000
_T = TypeVar("_T")


def livekit_payloads() -> tuple[list[bytes], list[bytes]]:
    """List pages for 10,000 sessions, and details bodies of the first active ones."""
    clock = FakeClock()
    world = LiveKitWorld(seed=SEED, rooms=SESSIONS, clock=clock, active_fraction=1.0)
    now_ns = int(clock.now * _NS)
    pages: list[bytes] = []
    details: list[bytes] = []
    for offset in range(0, SESSIONS, PAGE):
        truths = world.page(now_ns, since_ns=None, until_ns=None, offset=offset, limit=PAGE)
        styles = [livekit_style(SEED, t.session_id) for t in truths]
        items = [encode_list_item(t, s) for t, s in zip(truths, styles, strict=True)]
        pages.append(encode_json({"sessions": items}))
        for truth, style in zip(truths, styles, strict=True):
            if truth.active and len(details) < DETAILS_BODIES:
                details.append(encode_json(encode_details(truth, style)))
    pages.append(encode_json({}))  # protobuf JSON's empty page, which ends the poll
    return pages, details


def livepeer_payloads() -> tuple[list[bytes], float]:
    """``GET /session`` pages for 10,000 sessions, and the wall time they were taken at."""
    clock = FakeClock()
    world = LivepeerWorld(seed=SEED, streams=SESSIONS, clock=clock, active_fraction=1.0)
    truths = list(world.ordered(world.now_ms()))
    pages = [
        encode_json([encode_session(t, livepeer_floats(SEED, t.id)) for t in truths[i : i + PAGE]])
        for i in range(0, len(truths), PAGE)
    ]
    pages.append(b"[]")  # Studio links a next page after a full one; it comes back empty
    return pages, clock.now


def livekit_poll(
    pages: Sequence[bytes], details: Mapping[str, SessionDetails], max_sessions: int
) -> LiveKitSnapshot:
    """Body bytes → snapshot, as ``LiveKitSource.poll`` does it between its requests."""
    seen: dict[str, ListedSession] = {}
    for body in pages:
        for session in parse_livekit_page(decode_json(body, "list_sessions")).sessions:
            if session.session_id not in seen:
                seen[session.session_id] = session
    active = [session for session in seen.values() if session.active]
    return build_livekit(PROJECT, active, details, max_sessions)


def livepeer_poll(pages: Sequence[bytes], now: float, windows: Windows) -> LivepeerSnapshot:
    """Body bytes → snapshot, as ``LivepeerSource.poll`` does it between its requests."""
    by_id: dict[str, LivepeerSession] = {}
    for body in pages:
        for session in parse_page(body).sessions:
            known = by_id.get(session.id)
            if known is None or known.last_seen_ms < session.last_seen_ms:
                by_id[session.id] = session
    return build_livepeer(list(by_id.values()), now=now, windows=windows)


def cpu(work: Callable[[], _T], runs: int = RUNS) -> tuple[float, list[float], _T]:
    """Median CPU seconds of ``work`` over ``runs`` runs after one warm-up, all runs, and
    the last result."""
    result = work()
    times = []
    for _ in range(runs):
        gc.collect()
        start = time.process_time()
        result = work()
        times.append(time.process_time() - start)
    return median(times), times, result


def _spread(times: Sequence[float]) -> str:
    return f"{fmt_ms(min(times))} to {fmt_ms(max(times))}"


def run() -> list[Result]:
    defaults = Settings.from_sources(["--demo"], {}, SOURCES)  # demo: defaults need no credentials
    windows = Windows(
        active_window=defaults.of(LivepeerSettings).active_window,
        recording_lookback=defaults.of(LivepeerSettings).recording_lookback,
        max_sessions=defaults.of(LivepeerSettings).max_sessions,
    )
    livekit_pages, details_bodies = livekit_payloads()
    livepeer_pages, now = livepeer_payloads()

    # details as the cache holds them after a poll that refreshed every active session
    listed = livekit_poll(livekit_pages, {}, SESSIONS)
    assert listed.sessions >= 0.98 * SESSIONS, f"only {listed.sessions} active LiveKit sessions"
    sample, _ = parse_details(decode_json(details_bodies[0], "session_details"))
    details = {view.session.session_id: sample for view in listed.shown}

    lk_cpu, lk_times, lk = cpu(
        lambda: livekit_poll(livekit_pages, details, defaults.of(LiveKitSettings).max_sessions)
    )
    lp_cpu, lp_times, lp = cpu(lambda: livepeer_poll(livepeer_pages, now, windows))
    decoded = sum(len(parse_page(body).sessions) for body in livepeer_pages)
    assert decoded == SESSIONS, f"{decoded} Livepeer sessions decoded, expected {SESSIONS}"
    assert lk.sessions == listed.sessions
    assert len(lk.shown) == defaults.of(LiveKitSettings).max_sessions
    assert lp.active_count >= 0.98 * SESSIONS, f"only {lp.active_count} active Livepeer sessions"

    lk_render, _, lk_chunk = cpu(lambda: render_chunk(livekit_families(lk, "prod")), runs=3)
    lp_render, _, lp_chunk = cpu(lambda: render_chunk(livepeer_families(lp, "prod")), runs=3)
    details_cpu, _, parsed = cpu(
        lambda: [parse_details(decode_json(b, "session_details")) for b in details_bodies],
        runs=3,
    )
    assert len(parsed) == DETAILS_BODIES
    mb = sum(map(len, livekit_pages)) / 1e6, sum(map(len, livepeer_pages)) / 1e6
    cap = defaults.of(LiveKitSettings).max_sessions
    return [
        Result(
            GROUP,
            f"LiveKit decode + snapshot, {SESSIONS:,} sessions "
            f"({len(livekit_pages)} pages, {mb[0]:.1f} MB)",
            f"< {fmt_ms(LIMIT_S)} CPU",
            f"**{fmt_ms(lk_cpu)}** CPU (median of {RUNS}; {_spread(lk_times)}); "
            f"{lk.sessions:,} active",
            lk_cpu < LIMIT_S,
        ),
        Result(
            GROUP,
            f"Livepeer decode + snapshot, {SESSIONS:,} sessions "
            f"({len(livepeer_pages)} pages, {mb[1]:.1f} MB)",
            f"< {fmt_ms(LIMIT_S)} CPU",
            f"**{fmt_ms(lp_cpu)}** CPU (median of {RUNS}; {_spread(lp_times)}); "
            f"{lp.active_count:,} active",
            lp_cpu < LIMIT_S,
        ),
        Result(
            GROUP,
            "LiveKit + Livepeer together (the target is per API; for scale)",
            "no target",
            f"{fmt_ms(lk_cpu + lp_cpu)} CPU",
            None,
        ),
        Result(
            GROUP,
            f"Render once per poll (worker thread), {cap:,} sessions' series each",
            "no target",
            f"LiveKit {fmt_ms(lk_render)} ({len(lk_chunk.text.raw) / 1e6:.1f} MB text), "
            f"Livepeer {fmt_ms(lp_render)} ({len(lp_chunk.text.raw) / 1e6:.1f} MB text): "
            "both formats and their gzip",
            None,
        ),
        Result(
            GROUP,
            f"LiveKit details decode, {DETAILS_BODIES:,} bodies",
            "no target",
            f"{fmt_ms(details_cpu)} CPU ({fmt_ms(details_cpu / DETAILS_BODIES)} a body)",
            None,
        ),
    ]


if __name__ == "__main__":
    for result in run():
        print(result)
