"""Faults injected into the simulated Studio, one by one: reasons, last good data, recovery."""

from __future__ import annotations

import dataclasses

import pytest
from structlog.testing import capture_logs

from exporter.errors import Reason
from exporter.simulator import Fault, FaultAction
from tests.integration.livepeer.world import values, world
from tests.support.simulated import exposition, poll, self_metric, simulated

pytestmark = pytest.mark.anyio
CORS_KEY = "cors-enabled-key-5f2a9c1e"


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault(status=500), "server_error"),
        (Fault(status=503), "server_error"),
        (Fault(status=400), "client_error"),
        (Fault(status=401), "auth"),
        (Fault(FaultAction.RESET), "connection"),
        (Fault(FaultAction.CLOSE), "connection"),
        (Fault(FaultAction.INVALID_JSON), "invalid_response"),
        (Fault(FaultAction.WRONG_SHAPE), "invalid_response"),
    ],
)
async def test_a_failed_poll_keeps_the_last_good_data_until_recovery(
    fault: Fault, reason: Reason
) -> None:
    """A fault fails the poll with its reason; the last data stays; the next poll recovers."""
    async with (
        simulated(livepeer_sessions=15) as rig,
        rig.exporter("livepeer", "--livepeer.page-size=10") as ex,
    ):
        assert await poll(ex) is None
        good = values(ex)
        assert good == pytest.approx(world(rig))
        await rig.advance(60)
        rig.sim.faults.set("livepeer.list", dataclasses.replace(fault, count=1))
        error = await poll(ex)
        assert error is not None
        assert error.reason == reason
        assert self_metric(ex, "source_up") == 0
        assert self_metric(ex, "source_poll_errors_total", reason=reason) == 1
        assert values(ex) == good
        assert await poll(ex) is None
        assert self_metric(ex, "source_up") == 1
        assert values(ex) == pytest.approx(world(rig))


async def test_a_hung_request_times_out() -> None:
    """A request hanging past --poll.timeout fails the poll as a timeout."""
    async with (
        simulated(livepeer_sessions=3) as rig,
        rig.exporter("livepeer", "--poll.timeout=200ms") as ex,
    ):
        rig.sim.faults.set("livepeer.list", Fault(FaultAction.HANG, count=1))
        error = await poll(ex)
        assert error is not None
        assert error.reason == "timeout"
        assert self_metric(ex, "api_requests_total", endpoint="list_sessions", code="error") == 1


async def test_a_malformed_record_costs_only_itself() -> None:
    """One record of the wrong shape is skipped and counted; the good ones are all exported."""
    async with (
        simulated(livepeer_sessions=20) as rig,
        rig.exporter("livepeer", "--livepeer.page-size=50") as ex,
    ):
        rig.sim.faults.set("livepeer.list", Fault(FaultAction.MALFORMED_RECORD, count=1))
        assert await poll(ex) is None
        assert values(ex) == pytest.approx(world(rig))
        assert self_metric(ex, "records_skipped_total", reason="invalid") == 1


async def test_an_unknown_key_is_auth_and_never_logged() -> None:
    """Studio's 401 echoes the unknown key; it appears in no log line and no metric."""
    key = "lp-unknown-key-0123456789abcdef"
    with capture_logs() as logs:
        async with (
            simulated(livepeer_sessions=3) as rig,
            rig.exporter("livepeer", env={"LIVEPEER_API_KEY": key}) as ex,
        ):
            error = await poll(ex)
            assert error is not None
            assert error.reason == "auth"
            assert key not in str(error)
            assert key not in exposition(ex)
    assert any(entry["event"] == "poll_failed" for entry in logs)
    assert key not in repr(logs)


async def test_a_cors_enabled_key_is_refused_with_a_hint() -> None:
    """A CORS-enabled key gets 403: reason auth, and the log says to use a non-CORS key."""
    with capture_logs() as logs:
        async with (
            simulated(livepeer_sessions=3, livepeer_cors_api_key=CORS_KEY) as rig,
            rig.exporter("livepeer", env={"LIVEPEER_API_KEY": CORS_KEY}) as ex,
        ):
            error = await poll(ex)
            assert error is not None
            assert error.reason == "auth"
            assert "use a non-CORS API key" in str(error)
    (entry,) = (e for e in logs if e["event"] == "livepeer_key_forbidden")
    assert (entry["log_level"], entry["hint"]) == ("warning", "use a non-CORS API key")
    assert "insufficent" not in repr(logs)  # the body itself is never logged


async def test_no_stream_key_reaches_exposition_or_logs() -> None:
    """parentStream's stream keys, served with every item, never leave the parser."""
    with capture_logs() as logs:
        async with (
            simulated(livepeer_sessions=12) as rig,
            rig.exporter("livepeer", "--livepeer.page-size=4") as ex,
        ):
            assert await poll(ex) is None
            text = exposition(ex)
            keys = [s.stream_key for s in rig.sim.livepeer.streams]
    assert keys
    for key in keys:
        assert key not in text
        assert key not in repr(logs)
