"""Fault descriptions, the per-endpoint fault board and the command-line fault syntax."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from exporter.simulator import ENDPOINTS, Fault, FaultAction, FaultBoard, parse_fault_spec
from exporter.simulator.http.faults import SCALE_PLAN_BODY


def test_a_status_or_retry_after_implies_a_status_fault() -> None:
    """``Fault(status=…)`` or ``Fault(retry_after=…)`` alone answer with a status (429 here)."""
    assert Fault(status=503).action is FaultAction.STATUS
    retry = Fault(retry_after=3)
    assert (retry.action, retry.status) == (FaultAction.STATUS, 429)
    assert Fault(latency=0.05).action is None
    assert Fault.scale_plan().body == SCALE_PLAN_BODY
    assert Fault.scale_plan(401).status == 401
    assert Fault.oversized(None).oversized_bytes is None
    assert Fault.oversized(2).oversized_bytes == 2 * 1024 * 1024


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda: Fault(status=99), "HTTP status"),
        (lambda: Fault(status=600), "HTTP status"),
        (lambda: Fault(latency=-1.0), "latency"),
        (lambda: Fault(count=0), "count"),
        (lambda: Fault(oversized_bytes=0), "oversized_bytes"),
    ],
)
def test_invalid_faults_are_refused(make: Callable[[], Fault], problem: str) -> None:
    """Impossible statuses, negative latency and empty counts raise ValueError."""
    with pytest.raises(ValueError, match=problem):
        make()


def test_a_counted_fault_applies_to_the_next_n_requests_only() -> None:
    """``count=2`` serves the fault twice, then the endpoint is healthy again."""
    board = FaultBoard()
    board.set("livekit.list", Fault(status=500, count=2))
    assert board.remaining("livekit.list") == 2
    assert board.take("livekit.list") is not None
    assert board.take("livekit.list") is not None
    assert board.take("livekit.list") is None
    assert board.take("livekit.details") is None


def test_an_uncounted_fault_stays_until_cleared() -> None:
    """Without a count the fault applies to every request until cleared; "all" covers all."""
    board = FaultBoard([("all", Fault(latency=0.05))])
    for endpoint in ENDPOINTS:
        for _ in range(3):
            assert board.take(endpoint) == Fault(latency=0.05)
    board.clear("livepeer.list")
    assert board.get("livepeer.list") is None
    assert board.get("livekit.list") is not None
    board.clear()
    assert all(board.get(e) is None for e in ENDPOINTS)
    with pytest.raises(ValueError, match="unknown endpoint"):
        board.set("livekit.nope", Fault(status=500))


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("livekit.list=status:503", Fault(status=503)),
        (
            "livekit.list=status:429,retry-after:3,count:2",
            Fault(status=429, retry_after="3", count=2),
        ),
        ("livekit.details=retry-after:7", Fault(status=429, retry_after="7")),
        ("livepeer.list=latency:0.5", Fault(latency=0.5)),
        ("livepeer.list=latency:0.2,hang", Fault(FaultAction.HANG, latency=0.2)),
        ("all=reset", Fault(FaultAction.RESET)),
        ("livekit.list=close", Fault(FaultAction.CLOSE)),
        ("livekit.list=scale-plan", Fault(status=403, body=SCALE_PLAN_BODY)),
        ("livekit.list=scale-plan,status:401", Fault(status=401, body=SCALE_PLAN_BODY)),
        ("livepeer.list=invalid-json", Fault(FaultAction.INVALID_JSON)),
        ("livepeer.list=wrong-shape", Fault(FaultAction.WRONG_SHAPE)),
        ("livekit.list=malformed-record", Fault(FaultAction.MALFORMED_RECORD)),
        ("livekit.list=oversized:40", Fault(FaultAction.OVERSIZED, oversized_bytes=40 << 20)),
        ("livekit.list=oversized:endless", Fault(FaultAction.OVERSIZED)),
        (
            "livekit.list=status:500,body:oops, with, commas",
            Fault(status=500, body=b"oops, with, commas"),
        ),
    ],
)
def test_command_line_fault_specs(spec: str, expected: Fault) -> None:
    """Each documented ``--fault`` form parses to the matching Fault."""
    endpoint, fault = parse_fault_spec(spec)
    assert endpoint == spec.partition("=")[0]
    assert fault == expected


@pytest.mark.parametrize(
    "spec",
    [
        "livekit.list",
        "livekit.list=",
        "nowhere=hang",
        "livekit.list=explode",
        "livekit.list=latency:x",
        "livekit.list=count:0",
        "livekit.list=status:99",
        "livekit.list=latency:-1",
    ],
)
def test_bad_command_line_fault_specs_say_what_is_wrong(spec: str) -> None:
    """Malformed specs raise ValueError with a message."""
    with pytest.raises(ValueError, match=r"."):
        parse_fault_spec(spec)
