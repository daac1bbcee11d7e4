"""Reloads under load (targets.md, "Reload"): scrapes running continuously while targets are
added, changed, removed and refused always answer 200 with a body that parses and repeats no
family and no series, and liveness never flickers; reload requests arriving together
coalesce into one serialized reload and one more after it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from tests.integration.reload.rig import (
    LIVEKIT,
    LIVEPEER,
    OPENMETRICS,
    Entry,
    Rig,
    check_body,
    metrics,
    polled,
    reload,
)
from tests.support.processes import ExporterProcess, wait_for

LIFECYCLE = "--web.enable-lifecycle"
RELOADS = "livesession_exporter_config_reloads_total"
INFO = "livesession_exporter_target_info"
SCRAPERS = 4
BURST = 5
DISABLED = 1000
"""Disabled targets padding the file so that one reload takes a few hundred milliseconds,
longer than a burst of requests takes to arrive (each is still validated, secret read)."""


@dataclass
class Scrapers:
    """Threads scraping the exposition (text, OpenMetrics, gzip) and /healthz in a loop."""

    exporter: ExporterProcess
    stop: threading.Event = field(default_factory=threading.Event)
    scrapes: int = 0
    failures: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, index: int) -> None:
        kinds = [
            ({}, False),
            ({"accept": OPENMETRICS}, True),
            ({"accept-encoding": "gzip"}, False),
        ]
        with httpx.Client(timeout=10) as client:
            turn = index
            while not self.stop.is_set():
                headers, openmetrics = kinds[turn % len(kinds)]
                turn += 1
                try:
                    response = client.get(self.exporter.url, headers=headers)
                    assert response.status_code == 200, f"scrape answered {response.status_code}"
                    check_body(response.text, openmetrics=openmetrics)
                    health = client.get(self.exporter.base + "healthz")
                    assert health.status_code == 200, f"/healthz answered {health.status_code}"
                except Exception as exc:  # every failure is reported at the end
                    with self._lock:
                        self.failures.append(f"{headers}: {exc!r}"[:500])
                with self._lock:
                    self.scrapes += 1

    def __enter__(self) -> Scrapers:
        self._threads = [
            threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(SCRAPERS)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(15)


def test_scrapes_during_reloads_always_parse(rig: Rig) -> None:
    a, b, pa, pb = (
        rig.livekit("a", 0),
        rig.livekit("b", 1),
        rig.livepeer("pa", 0),
        rig.livepeer("pb", 1),
    )
    broken = rig.livekit("x", 1, poll_interval="never")
    steps: list[tuple[list[Entry], int]] = [
        ([a, b, pa], 200),
        ([a, pa, broken], 500),
        ([a.with_keys(max_sessions="1"), pb], 200),
        ([a], 200),
        ([a, b.with_keys(poll_interval="300ms"), pa, pb], 200),
        ([a, broken], 500),
        ([b, pa.with_keys(enabled="false"), pb], 200),
        ([a, b, pa, pb], 200),
        ([a, pa], 200),
        ([a, b, pa, pb], 200),
    ]
    rig.write(a, pa)
    with rig.exporter(LIFECYCLE, interval="500ms") as exporter:
        polled(exporter, LIVEKIT, "a")
        polled(exporter, LIVEPEER, "pa")
        with Scrapers(exporter) as scrapers:
            for entries, status in steps * 2:
                rig.write(*entries)
                response = reload(exporter)
                assert response.status_code == status, response.text
                time.sleep(0.15)  # let some first polls start, to be cut by the next reload
            wait_for(lambda: scrapers.scrapes >= 40, within=10, what="40 scrapes")
        assert not scrapers.failures, scrapers.failures[:5]
        assert exporter.returncode is None
        m = metrics(exporter)
        assert m.value(RELOADS, result="success") == 16
        assert m.value(RELOADS, result="failure") == 4
        assert sorted(s.labels["target"] for s in m.samples(INFO)) == ["a", "b", "pa", "pb"]
        for source, target in ((LIVEKIT, "a"), (LIVEKIT, "b"), (LIVEPEER, "pa"), (LIVEPEER, "pb")):
            polled(exporter, source, target)


def burst(exporter: ExporterProcess) -> list[httpx.Response]:
    """``BURST`` reload requests released together."""
    start = threading.Barrier(BURST)
    responses: list[httpx.Response | BaseException] = [RuntimeError("no answer")] * BURST

    def ask(index: int) -> None:
        with httpx.Client(timeout=30) as client:
            client.get(exporter.base + "healthz")  # connect before the barrier
            start.wait()
            try:
                responses[index] = client.post(exporter.base + "-/reload")
            except BaseException as exc:  # reported below
                responses[index] = exc

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    answered = [r for r in responses if isinstance(r, httpx.Response)]
    assert len(answered) == BURST, [r for r in responses if not isinstance(r, httpx.Response)]
    return answered


def counted(exporter: ExporterProcess) -> Callable[[str], float]:
    m = metrics(exporter)
    return lambda result: m.value(RELOADS, result=result) or 0


def test_reload_requests_arriving_together_coalesce(rig: Rig) -> None:
    """Five POSTs at once all answer once a reload that began after they arrived has ended
    (so all see the file as written before them); they cost one reload, plus at most one
    more for those that arrived while it ran."""
    shared = str(rig.write_file(rig.root / "secrets" / "shared", "s" * 40 + "\n"))
    padding = [
        rig.livekit(f"off{i}", 1, api_secret_file=shared, enabled="false") for i in range(DISABLED)
    ]
    a = rig.livekit("a", 0)
    rig.write(a, *padding)
    with rig.exporter(LIFECYCLE) as exporter:
        polled(exporter, LIVEKIT, "a")
        began = time.monotonic()
        assert reload(exporter).status_code == 200
        took = time.monotonic() - began
        assert took > 0.1, f"one reload took {took:.3f} s: too fast to see requests coalesce"

        rig.write(a, rig.livekit("b", 1), *padding)
        before = counted(exporter)
        logged = len(exporter.events("config_reloaded"))
        answers = burst(exporter)
        assert [r.status_code for r in answers] == [200] * BURST, [r.text for r in answers]
        after = counted(exporter)
        grew = after("success") - before("success")
        assert 1 <= grew <= 2, f"{BURST} requests at once ran {grew} reloads"
        assert after("failure") == before("failure")
        assert metrics(exporter).value(INFO, target="b") == 1
        wait_for(
            lambda: len(exporter.events("config_reloaded")) == logged + grew,
            within=5,
            what="one config_reloaded line per reload run",
        )

        rig.write(a, rig.livekit("c", 1, max_sessions="lots"), *padding)
        before = counted(exporter)
        answers = burst(exporter)
        assert [r.status_code for r in answers] == [500] * BURST, [r.text for r in answers]
        assert all("max_sessions" in r.text for r in answers)
        after = counted(exporter)
        grew = after("failure") - before("failure")
        assert 1 <= grew <= 2, f"{BURST} requests at once ran {grew} reloads"
        assert after("success") == before("success")
        assert not metrics(exporter).has(INFO, target="c")
