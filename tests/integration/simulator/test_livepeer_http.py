"""The simulated Livepeer Studio API over real sockets: auth, Link paging, filters, errors."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest

from exporter.simulator import ABSENT, LivepeerSessionTruth, Simulator, SimulatorConfig

from .conftest import Running

LINK = re.compile(r'^<([^>]+)>; rel="next"$')


def decode(item: dict[str, object]) -> tuple[object, ...]:
    """The values an exporter reads from a list item."""
    parent = item["parentStream"]
    assert isinstance(parent, dict)
    return (
        item["id"], item["parentId"], parent["name"], item.get("projectId"),
        item["lastSeen"], item["createdAt"], item["sourceBytes"], item["transcodedBytes"],
        item["sourceSegments"], item["transcodedSegments"], item["sourceSegmentsDuration"],
        item["transcodedSegmentsDuration"], item["ingestRate"], item["outgoingRate"],
        item.get("isHealthy", "absent"), item.get("issues", "absent"), item["record"],
        item.get("recordingStatus"), item["playbackId"],
    )  # fmt: skip


def expected(t: LivepeerSessionTruth) -> tuple[object, ...]:
    issues = "absent" if t.issues is ABSENT else (None if t.issues is None else list(t.issues))
    return (
        t.id, t.parent_id, t.stream_name, t.project_id, t.last_seen, t.created_at,
        t.source_bytes, t.transcoded_bytes, t.source_segments, t.transcoded_segments,
        t.source_segments_duration, t.transcoded_segments_duration, t.ingest_rate,
        t.outgoing_rate, "absent" if t.is_healthy is ABSENT else t.is_healthy, issues,
        t.record, t.recording_status, t.playback_id,
    )  # fmt: skip


async def follow(
    running: Running, client: httpx.AsyncClient, params: dict[str, str]
) -> list[list[dict[str, object]]]:
    """Every page, following only the ``cursor`` of each ``Link`` against the base URL."""
    pages: list[list[dict[str, object]]] = []
    query = dict(params)
    for _ in range(200):
        response = await client.get(
            running.livepeer_sessions_url, params=query, headers=running.livepeer_headers()
        )
        assert response.status_code == 200
        pages.append(response.json())
        link = response.headers.get("link")
        if link is None:
            return pages
        match = LINK.match(link)
        assert match is not None
        target = urlsplit(match.group(1))
        assert target.netloc != urlsplit(running.endpoints.livepeer_url).netloc
        query = {**params, "cursor": parse_qs(target.query)["cursor"][0]}
    raise AssertionError("paging did not end")


@pytest.mark.anyio
async def test_link_pages_cover_the_truth_in_default_order(
    running: Running, client: httpx.AsyncClient
) -> None:
    """Pages of 7 follow ``Link`` cursors; together they equal the truth, in order."""
    pages = await follow(running, client, {"limit": "7"})
    items = [item for page in pages for item in page]
    assert [decode(i) for i in items] == [expected(t) for t in running.sim.livepeer.sessions()]
    assert len(pages[-1]) < 7


@pytest.mark.anyio
async def test_a_full_last_page_costs_one_more_request(
    running: Running, client: httpx.AsyncClient
) -> None:
    """With 40 sessions and pages of 8, a sixth request answers ``[]`` and has no Link."""
    pages = await follow(running, client, {"limit": "8"})
    assert [len(page) for page in pages] == [8, 8, 8, 8, 8, 0]


@pytest.mark.anyio
async def test_limit_defaults_to_20_and_stops_at_1000(client: httpx.AsyncClient) -> None:
    """No ``limit`` gives 20 items; ``limit=5000`` gives 1000 and a link to ``skip1000``."""
    sim = Simulator(SimulatorConfig(seed=5, livekit_sessions=0, livepeer_sessions=1200))
    async with anyio.create_task_group() as tg:
        endpoints = await tg.start(sim.run)
        headers = {"Authorization": f"Bearer {endpoints.livepeer_api_key}"}
        url = endpoints.livepeer_url + "/session"
        default = await client.get(url, headers=headers)
        big = await client.get(url, params={"limit": "5000"}, headers=headers)
        tg.cancel_scope.cancel()
    assert len(default.json()) == 20
    assert len(big.json()) == 1000
    assert "cursor=skip1000" in big.headers["link"]
    assert "limit=5000" in big.headers["link"]


@pytest.mark.anyio
async def test_keys_are_checked_with_studios_answers(
    running: Running, client: httpx.AsyncClient
) -> None:
    """No key, an unknown key (echoed back) and a CORS key are refused with Studio's bodies."""
    url = running.livepeer_sessions_url
    missing = await client.get(url)
    assert (missing.status_code, missing.json()) == (
        401,
        {"errors": ["request is not authenticated"]},
    )
    wrong = await client.get(url, headers=running.livepeer_headers("not-a-key"))
    assert (wrong.status_code, wrong.json()) == (401, {"errors": ["no token not-a-key found"]})
    cors = running.sim.credentials.livepeer_cors_api_key
    refused = await client.get(url, headers=running.livepeer_headers(cors))
    assert refused.status_code == 403
    assert "errors" in refused.json()
    one = running.sim.livepeer.sessions()[0].id
    single = await client.get(f"{url}/{one}", headers=running.livepeer_headers(cors))
    assert single.status_code == 200
    ok = await client.get(url, headers=running.livepeer_headers())
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("application/json")


@pytest.mark.anyio
async def test_filters_select_and_eq_is_a_400(running: Running, client: httpx.AsyncClient) -> None:
    """``lastSeen`` comparisons select like the truth; ``eq`` answers 400 as upstream."""
    truth = running.sim.livepeer.sessions()
    pivot = sorted(t.last_seen for t in truth)[20]
    spec = json.dumps([{"id": "lastSeen", "value": {"gte": pivot}}])
    pages = await follow(running, client, {"limit": "6", "filters": spec, "count": "1"})
    got = [i["id"] for page in pages for i in page]
    assert got == [t.id for t in truth if t.last_seen >= pivot]
    counted = await client.get(
        running.livepeer_sessions_url,
        params={"filters": spec, "count": "1"},
        headers=running.livepeer_headers(),
    )
    assert counted.headers["x-total-count"] == str(len(got))
    broken = json.dumps([{"id": "lastSeen", "value": {"eq": pivot}}])
    response = await client.get(
        running.livepeer_sessions_url,
        params={"filters": broken},
        headers=running.livepeer_headers(),
    )
    assert response.status_code == 400
    assert response.json() == {"errors": ['error parsing filters: Error: unknown comparison: "eq"']}


@pytest.mark.anyio
async def test_other_orders(running: Running, client: httpx.AsyncClient) -> None:
    """``order=createdAt-false`` lists oldest sessions first."""
    pages = await follow(running, client, {"limit": "100", "order": "createdAt-false"})
    created = [int(str(i["createdAt"]).removesuffix(".0")) for i in pages[0]]
    assert created == sorted(created)
    assert len(created) == len(running.sim.livepeer.sessions())


@pytest.mark.anyio
async def test_single_sessions_and_unknown_paths(
    running: Running, client: httpx.AsyncClient
) -> None:
    """``/session/{id}`` decodes the id once and has no parentStream; others are 404s."""
    odd = "id with / and %2F and ü"
    running.sim.livepeer.add_session(session_id=odd, stream_name="odd")
    encoded = "id%20with%20%2F%20and%20%252F%20and%20%C3%BC"
    response = await client.get(
        f"{running.endpoints.livepeer_url}/session/{encoded}", headers=running.livepeer_headers()
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == odd
    assert "parentStream" not in body
    for path in ("/session/nope", "/stream", "/sessions", "/session/a/b"):
        missing = await client.get(
            running.endpoints.livepeer_url + path, headers=running.livepeer_headers()
        )
        assert (missing.status_code, missing.json()) == (404, {"errors": ["not found"]}), path
