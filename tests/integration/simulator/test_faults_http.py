"""Injected faults as a client sees them over real sockets, and the log that records them."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest

from exporter.simulator import Fault, FaultAction, Simulator, SimulatorConfig

from .conftest import Running

DROPPED = (httpx.ReadError, httpx.RemoteProtocolError, httpx.ConnectError)


@pytest.mark.anyio
async def test_latency_delays_only_its_endpoint(
    running: Running, client: httpx.AsyncClient
) -> None:
    """Added latency slows the faulted endpoint and leaves the others alone."""
    running.sim.faults.set("livekit.list", Fault(latency=0.3))
    started = anyio.current_time()
    response = await client.get(running.sessions_url, headers=running.livekit_headers())
    assert response.status_code == 200
    assert anyio.current_time() - started >= 0.3
    started = anyio.current_time()
    other = await client.get(running.livepeer_sessions_url, headers=running.livepeer_headers())
    assert other.status_code == 200
    assert anyio.current_time() - started < 0.3


@pytest.mark.anyio
async def test_a_hang_times_the_client_out(running: Running, client: httpx.AsyncClient) -> None:
    """A hanging endpoint never answers; the request is logged as abandoned once given up."""
    running.sim.faults.set("livepeer.list", Fault(FaultAction.HANG))
    with pytest.raises(httpx.ReadTimeout):
        await client.get(
            running.livepeer_sessions_url, headers=running.livepeer_headers(), timeout=0.3
        )
    abandoned = await running.sim.log.wait_for(lambda r: r.outcome == "abandoned")
    assert abandoned[0].endpoint == "livepeer.list"
    assert abandoned[0].status is None


@pytest.mark.anyio
async def test_the_simulator_stops_promptly_while_a_request_hangs(
    client: httpx.AsyncClient,
) -> None:
    """Cancelling the simulator ends a hanging request at once; the client sees the drop."""
    sim = Simulator(SimulatorConfig(livekit_sessions=1, livepeer_sessions=1))
    sim.faults.set("livekit.list", Fault(FaultAction.HANG))
    errors: list[BaseException] = []

    async def hang(url: str) -> None:
        try:
            await client.get(url, timeout=30)
        except httpx.HTTPError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as outer:
        async with anyio.create_task_group() as tg:
            endpoints = await tg.start(sim.run)
            url = f"{endpoints.livekit_url}/api/project/{endpoints.livekit_project_id}/sessions"
            outer.start_soon(hang, url)
            await sim.log.wait_for(lambda r: r.endpoint == "livekit.list")
            started = anyio.current_time()
            tg.cancel_scope.cancel()
        assert anyio.current_time() - started < 2
    assert len(errors) == 1
    assert isinstance(errors[0], DROPPED)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("action", "outcome"), [(FaultAction.RESET, "reset"), (FaultAction.CLOSE, "closed")]
)
async def test_dropped_connections_get_no_response(
    running: Running, client: httpx.AsyncClient, action: FaultAction, outcome: str
) -> None:
    """Reset and close end the connection with no HTTP response at all."""
    running.sim.faults.set("livekit.details", Fault(action, count=1))
    session = running.sim.livekit.sessions()[0]
    with pytest.raises(DROPPED):
        await client.get(running.details_url(session.session_id), headers=running.livekit_headers())
    record = running.sim.log.for_endpoint("livekit.details")[-1]
    assert (record.outcome, record.status) == (outcome, None)
    after = await client.get(
        running.details_url(session.session_id), headers=running.livekit_headers()
    )
    assert after.status_code == 200


@pytest.mark.anyio
async def test_a_reset_is_a_tcp_reset(running: Running) -> None:
    """The reset fault aborts the connection, so the peer reads ECONNRESET, not a clean EOF."""
    running.sim.faults.set("livepeer.list", Fault(FaultAction.RESET))
    host, port = running.endpoints.livepeer_url.removeprefix("http://").split("/")[0].split(":")
    async with await anyio.connect_tcp(host, int(port)) as stream:
        await stream.send(b"GET /api/session HTTP/1.1\r\nHost: x\r\n\r\n")
        with pytest.raises((anyio.BrokenResourceError, ConnectionResetError)), anyio.fail_after(5):
            await stream.receive()


@pytest.mark.anyio
async def test_status_faults_answer_before_auth_with_each_apis_body(
    running: Running, client: httpx.AsyncClient
) -> None:
    """429 with Retry-After, 401, 403 "scale plan" and 5xx come back as set, for N requests."""
    faults = running.sim.faults
    faults.set("livekit.list", Fault(status=429, retry_after=3, count=1))
    limited = await client.get(running.sessions_url)  # no token: faults come first
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "3")
    faults.set("livepeer.list", Fault.rate_limited(retry_after=2.0))
    studio = await client.get(running.livepeer_sessions_url)
    assert (studio.status_code, studio.headers["retry-after"]) == (429, "2")
    assert studio.json() == {"errors": ["Too Many Requests"]}
    faults.clear("livepeer.list")
    faults.set("livekit.list", Fault.scale_plan(count=1))
    plan = await client.get(running.sessions_url, headers=running.livekit_headers())
    assert plan.status_code == 403
    assert "scale plan" in plan.text
    faults.set("livekit.list", Fault(status=401, count=1))
    assert (await client.get(running.sessions_url)).status_code == 401
    faults.set("livekit.list", Fault(status=503, count=2, headers=(("x-why", "test"),)))
    codes = []
    for _ in range(3):
        response = await client.get(running.sessions_url, headers=running.livekit_headers())
        codes.append(response.status_code)
    assert codes == [503, 503, 200]
    assert faults.remaining("livekit.list") == 0
    faults.set("livepeer.list", Fault(status=599, count=1))
    odd = await client.get(running.livepeer_sessions_url)
    assert (odd.status_code, odd.json()) == (599, {"errors": ["Error"]})


@pytest.mark.anyio
async def test_invalid_json_and_wrong_shapes(running: Running, client: httpx.AsyncClient) -> None:
    """A cut-short body is not JSON; the wrong shape swaps objects and arrays."""
    headers = running.livekit_headers()
    running.sim.faults.set("livekit.list", Fault(FaultAction.INVALID_JSON, count=1))
    broken = await client.get(running.sessions_url, headers=headers)
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.content)
    running.sim.faults.set("livekit.list", Fault(FaultAction.WRONG_SHAPE, count=1))
    assert isinstance((await client.get(running.sessions_url, headers=headers)).json(), list)
    running.sim.faults.set("livepeer.list", Fault(FaultAction.WRONG_SHAPE, count=1))
    studio = await client.get(running.livepeer_sessions_url, headers=running.livepeer_headers())
    assert isinstance(studio.json(), dict)


@pytest.mark.anyio
async def test_one_malformed_record_among_good_ones(
    running: Running, client: httpx.AsyncClient
) -> None:
    """The malformed record is added to the page; every real record is still there."""
    running.sim.faults.set("all", Fault(FaultAction.MALFORMED_RECORD))
    listed = await client.get(
        running.sessions_url, params={"limit": "10"}, headers=running.livekit_headers()
    )
    sessions = listed.json()["sessions"]
    bad = [s for s in sessions if not isinstance(s["sessionId"], str)]
    assert len(bad) == 1
    assert len(sessions) == 11
    truth = [t.session_id for t in running.sim.livekit.sessions()[:10]]
    assert [s["sessionId"] for s in sessions if s not in bad] == truth
    studio = await client.get(
        running.livepeer_sessions_url, params={"limit": "5"}, headers=running.livepeer_headers()
    )
    items = studio.json()
    assert len(items) == 6
    assert sum(not isinstance(i["id"], str) for i in items) == 1
    assert 'rel="next"' in studio.headers["link"]
    session = running.sim.livekit.active_sessions()[0]
    details = await client.get(
        running.details_url(session.session_id), headers=running.livekit_headers()
    )
    participants = details.json()["participants"]
    assert sum(not isinstance(p["participantIdentity"], str) for p in participants) == 1


@pytest.mark.anyio
async def test_an_oversized_body_is_valid_json_past_its_size(
    running: Running, client: httpx.AsyncClient
) -> None:
    """An oversized answer declares and sends at least the asked size, as valid JSON."""
    running.sim.faults.set("livepeer.list", Fault.oversized(2))
    response = await client.get(running.livepeer_sessions_url, headers=running.livepeer_headers())
    assert len(response.content) >= 2 * 1024 * 1024
    assert int(response.headers["content-length"]) == len(response.content)
    assert isinstance(response.json(), list)
    assert len(response.json()) > 100


@pytest.mark.anyio
async def test_an_endless_body_streams_until_the_client_gives_up(
    running: Running, client: httpx.AsyncClient
) -> None:
    """An endless body never ends; once the client stops reading, the server lets go."""
    running.sim.faults.set("livekit.list", Fault.oversized(None, count=1))
    received = 0
    async with client.stream(
        "GET", running.sessions_url, headers=running.livekit_headers()
    ) as response:
        assert "content-length" not in response.headers
        async for chunk in response.aiter_raw():
            received += len(chunk)
            if received > 8 * 1024 * 1024:
                break
    assert received > 8 * 1024 * 1024
    await running.sim.log.wait_for(lambda r: r.outcome == "abandoned")
    after = await client.get(running.sessions_url, headers=running.livekit_headers())
    assert after.status_code == 200


@pytest.mark.anyio
async def test_faults_can_be_set_from_the_configuration(client: httpx.AsyncClient) -> None:
    """Faults given at start (as the command line does) apply from the first request."""
    config = SimulatorConfig(faults=(("livepeer.list", Fault(status=502)),))
    sim = Simulator(config)
    async with anyio.create_task_group() as tg:
        endpoints = await tg.start(sim.run)
        response = await client.get(endpoints.livepeer_url + "/session")
        tg.cancel_scope.cancel()
    assert response.status_code == 502
    assert sim.log.records[0].fault == "status 502"
