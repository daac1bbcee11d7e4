"""The simulated LiveKit Analytics API over real sockets: auth, paging, window, ids, encodings."""

from __future__ import annotations

import datetime as dt

import anyio
import httpx
import pytest

from exporter.simulator import FakeClock, LiveKitSessionTruth, Simulator, SimulatorConfig

from .conftest import Running

NS = 1_000_000_000


def ns(text: object) -> int:
    """Exact nanoseconds of an RFC 3339 ``…Z`` timestamp."""
    assert isinstance(text, str)
    assert text.endswith("Z")
    whole, _, fraction = text[:-1].partition(".")
    seconds = int(dt.datetime.fromisoformat(whole).replace(tzinfo=dt.UTC).timestamp())
    return seconds * NS + int((fraction or "0").ljust(9, "0"))


def as_int(value: object) -> int:
    """A protobuf int64: a JSON number or a numeric string."""
    assert isinstance(value, int | str)
    assert not isinstance(value, bool)
    return int(value)


def decode(item: dict[str, object]) -> tuple[object, ...]:
    """The values an exporter reads from a list item, missing fields as zero."""
    counts = item.get("connectionCounts", {})
    assert isinstance(counts, dict)
    return (
        item["sessionId"],
        item.get("roomName", ""),
        ns(item["createdAt"]),
        ns(item["endedAt"]) if "endedAt" in item else None,
        ns(item["lastActive"]),
        as_int(item.get("bandwidthIn", 0)),
        as_int(item.get("bandwidthOut", 0)),
        item.get("egress", 0),
        item.get("numParticipants", 0),
        item.get("numActiveParticipants", 0),
        counts.get("attempts", 0),
        counts.get("success", 0),
    )


def expected(t: LiveKitSessionTruth) -> tuple[object, ...]:
    return (
        t.session_id, t.room_name, t.created_at_ns, t.ended_at_ns, t.last_active_ns,
        t.bandwidth_in, t.bandwidth_out, t.egress, t.num_participants,
        t.num_active_participants, t.connection_attempts, t.connection_successes,
    )  # fmt: skip


async def all_pages(
    running: Running, client: httpx.AsyncClient, limit: int, **params: str
) -> list[list[dict[str, object]]]:
    pages = []
    for page in range(100):
        response = await client.get(
            running.sessions_url,
            params={"limit": str(limit), "page": str(page), **params},
            headers=running.livekit_headers(),
        )
        assert response.status_code == 200
        sessions = response.json().get("sessions", [])
        pages.append(sessions)
        if len(sessions) < limit:
            return pages
    raise AssertionError("paging did not end")


@pytest.mark.anyio
async def test_offset_pages_cover_exactly_the_listed_sessions(
    running: Running, client: httpx.AsyncClient
) -> None:
    """With a frozen clock, pages of 7 list every session once, each equal to the truth."""
    pages = await all_pages(running, client, limit=7)
    items = [item for page in pages for item in page]
    truth = running.sim.livekit.sessions()
    assert [decode(item) for item in items] == [expected(t) for t in truth]
    assert all(len(page) == 7 for page in pages[:-1])
    assert len(pages[-1]) < 7


@pytest.mark.anyio
async def test_an_empty_page_omits_the_sessions_key(
    running: Running, client: httpx.AsyncClient
) -> None:
    """Past the last session the body is ``{}``: protobuf JSON leaves empty lists out."""
    response = await client.get(
        running.sessions_url + "/", params={"page": "99"}, headers=running.livekit_headers()
    )
    assert response.status_code == 200
    assert response.json() == {}


@pytest.mark.anyio
async def test_tokens_are_verified(running: Running, client: httpx.AsyncClient) -> None:
    """Only a signed, current, roomList token of this project's key is let in."""
    now = int(running.clock())
    bad = {
        "no header": None,
        "expired": running.token(exp=now - 3600, nbf=now - 7200),
        "not yet valid": running.token(nbf=now + 3600),
        "other key": running.token(iss="APIsomeoneelse"),
        "no roomList": running.token(video={"roomJoin": True}),
        "other secret": running.token() + "x",
    }
    ok = await client.get(running.sessions_url, headers=running.livekit_headers())
    assert ok.status_code == 200
    for label, token in bad.items():
        headers = {} if token is None else running.livekit_headers(token)
        response = await client.get(running.sessions_url, headers=headers)
        assert response.status_code == 401, label


@pytest.mark.anyio
async def test_the_date_window_and_the_seven_day_rule(
    running: Running, client: httpx.AsyncClient
) -> None:
    """``start`` is inclusive, ``end`` exclusive, ``start`` older than 7 days is a 400."""
    today = dt.datetime.fromtimestamp(running.clock(), tz=dt.UTC).date()
    running.sim.livekit.add_session(
        session_id="RM_days_ago", started_at=running.clock() - 3 * 86400
    )
    headers = running.livekit_headers()

    async def ids(**params: str) -> set[str]:
        pages = await all_pages(running, client, limit=100, **params)
        return {str(item["sessionId"]) for page in pages for item in page}

    everything = await ids()
    created_today = {
        t.session_id for t in running.sim.livekit.sessions()
        if dt.datetime.fromtimestamp(t.created_at_s, tz=dt.UTC).date() == today
    }  # fmt: skip
    assert await ids(start=today.isoformat()) == created_today
    assert await ids(end=today.isoformat()) == everything - created_today
    assert "RM_days_ago" in everything
    assert "RM_days_ago" not in await ids(start=(today - dt.timedelta(days=2)).isoformat())
    week = (today - dt.timedelta(days=7)).isoformat()
    assert await ids(start=week, end=(today + dt.timedelta(days=1)).isoformat()) == everything
    for params in (
        {"start": (today - dt.timedelta(days=8)).isoformat()},
        {"start": "2026/01/01"},
        {"end": "tomorrow"},
        {"limit": "0"},
        {"limit": "ten"},
        {"page": "-1"},
    ):
        response = await client.get(running.sessions_url, params=params, headers=headers)
        assert response.status_code == 400, params


@pytest.mark.anyio
async def test_details_equal_the_truth_and_unknown_ids_are_404(
    running: Running, client: httpx.AsyncClient
) -> None:
    """Details report participants, sources, billable bandwidth and minutes of the truth."""
    headers = running.livekit_headers()
    for truth in running.sim.livekit.active_sessions()[:10]:
        response = await client.get(running.details_url(truth.session_id), headers=headers)
        assert response.status_code == 200
        body = response.json()
        assert body["roomId"] == truth.session_id
        assert body["status"] == 1
        assert as_int(body.get("bandwidth", 0)) == truth.billable_bandwidth
        assert as_int(body.get("connectionMinutes", 0)) == truth.connection_minutes
        assert ns(body["startTime"]) == truth.created_at_ns
        assert "endTime" not in body
        connected = [p for p in body.get("participants", []) if "leftAt" not in p]
        assert len(connected) == truth.num_active_participants
        cameras = sum(p.get("publishedSources", {}).get("cameraTrack", False) for p in connected)
        assert cameras == truth.publishers()["camera"]
    missing = await client.get(running.details_url("RM_doesnotexist"), headers=headers)
    assert missing.status_code == 404


@pytest.mark.anyio
async def test_hostile_ids_are_decoded_exactly_once(
    running: Running, client: httpx.AsyncClient
) -> None:
    """Ids with ``/``, ``..``, ``%``, spaces and unicode are found by their encoded path only."""
    ids = ["RM_a/b", "RM_a%2Fb", "..", "RM_100%", "RM_ space ", "RM_ünï☃", "RM_?#&="]
    for session_id in ids:
        running.sim.livekit.add_session(session_id=session_id, room_name=f"room {session_id}")
    headers = running.livekit_headers()
    for session_id in ids:
        response = await client.get(running.details_url(session_id), headers=headers)
        assert response.status_code == 200, session_id
        assert response.json()["roomId"] == session_id
    base = running.sessions_url
    for path in ("/RM_a%252Fb%25", "/%2E%2E/x", "/RM_a/b"):
        response = await client.get(base + path, headers=headers)
        assert response.status_code == 404, path
    record = running.sim.log.for_endpoint("livekit.unknown")[-1]
    assert record.raw_path.endswith("/sessions/RM_a/b")


@pytest.mark.anyio
async def test_raw_dot_segments_never_reach_a_session(running: Running) -> None:
    """A literal ``..`` segment is a 404, even though ``..`` is a session id here."""
    running.sim.livekit.add_session(session_id="..")
    e = running.endpoints
    host, port = e.livekit_url.removeprefix("http://").split(":")
    path = f"/api/project/{e.livekit_project_id}/sessions/.."
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {running.token()}\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    async with await anyio.connect_tcp(host, int(port)) as stream:
        await stream.send(request)
        reply = b""
        with anyio.fail_after(5):
            async for chunk in stream:
                reply += chunk
    assert reply.startswith(b"HTTP/1.1 404")


@pytest.mark.anyio
async def test_other_paths_and_methods_are_refused(
    running: Running, client: httpx.AsyncClient
) -> None:
    """Another project, another resource or an extra segment is 404; POST is 405."""
    headers = running.livekit_headers()
    e = running.endpoints
    for path in (
        "/",
        "/api/project/p_other/sessions",
        f"/api/project/{e.livekit_project_id}/rooms",
        f"/api/project/{e.livekit_project_id}/sessions/RM_x/participants",
    ):
        response = await client.get(e.livekit_url + path, headers=headers)
        assert response.status_code == 404, path
    response = await client.post(running.sessions_url, headers=headers)
    assert response.status_code == 405


@pytest.mark.anyio
async def test_requests_are_logged_as_sent(running: Running, client: httpx.AsyncClient) -> None:
    """The log keeps the raw path, the query string and the headers of each request."""
    token = running.token()
    await client.get(
        running.sessions_url + "/",
        params={"limit": "5", "start": "2026-01-14"},
        headers={"Authorization": f"Bearer {token}", "X-Probe": "yes"},
    )
    record = running.sim.log.for_endpoint("livekit.list")[-1]
    assert record.raw_path == f"/api/project/{running.endpoints.livekit_project_id}/sessions/"
    assert record.query_string == "limit=5&start=2026-01-14"
    assert record.header("authorization") == f"Bearer {token}"
    assert record.header("x-probe") == "yes"
    assert (record.status, record.outcome, record.api) == (200, "response", "livekit")


@pytest.mark.anyio
async def test_the_snake_case_variant(client: httpx.AsyncClient) -> None:
    """With the snake_case switch, list items use ``session_id``, ``room_name``… keys."""
    clock = FakeClock()
    sim = Simulator(
        SimulatorConfig(seed=3, livekit_sessions=5, clock=clock, livekit_snake_case=True)
    )
    async with anyio.create_task_group() as tg:
        endpoints = await tg.start(sim.run)
        running = Running(sim, endpoints, clock)
        response = await client.get(running.sessions_url, headers=running.livekit_headers())
        tg.cancel_scope.cancel()
    item = response.json()["sessions"][0]
    assert "session_id" in item
    assert "created_at" in item
    assert "sessionId" not in item
