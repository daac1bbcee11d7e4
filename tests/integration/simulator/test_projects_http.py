"""Several projects over real sockets: each LiveKit project and Studio key sees its own world."""

from __future__ import annotations

import base64

import anyio
import httpx
import jwt
import pytest

from exporter.simulator import (
    FakeClock,
    Fault,
    LiveKitProject,
    LivepeerProject,
    Simulator,
    SimulatorConfig,
)

from .conftest import Running


@pytest.fixture
def sim_config(clock: FakeClock) -> SimulatorConfig:
    return SimulatorConfig(
        seed=21, livekit_sessions=15, livepeer_sessions=12, livekit_projects=2,
        livepeer_projects=3, clock=clock,
    )  # fmt: skip


def token(running: Running, project: LiveKitProject) -> str:
    """A valid token of ``project``'s key, on the simulator's clock."""
    now = int(running.clock())
    claims = {"iss": project.api_key, "sub": "livesession-exporter", "nbf": now - 5,
              "exp": now + 600, "video": {"roomList": True}}  # fmt: skip
    return jwt.encode(claims, project.api_secret, algorithm="HS256")


def sessions_url(running: Running, project: LiveKitProject) -> str:
    return f"{running.endpoints.livekit_url}/api/project/{project.project_id}/sessions"


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


async def studio_list(
    running: Running, client: httpx.AsyncClient, project: LivepeerProject
) -> list[dict[str, object]]:
    response = await client.get(
        running.livepeer_sessions_url, params={"limit": "1000"}, headers=bearer(project.api_key)
    )
    assert response.status_code == 200
    items: list[dict[str, object]] = response.json()
    return items


@pytest.mark.anyio
async def test_the_endpoints_list_every_project_first_one_first(running: Running) -> None:
    """The single fields are the first project's; the tuples hold all of them, in order."""
    e, sim = running.endpoints, running.sim
    assert e.livekit_projects == sim.livekit_projects
    assert e.livepeer_projects == sim.livepeer_projects
    assert (len(e.livekit_projects), len(e.livepeer_projects)) == (2, 3)
    first = e.livekit_projects[0]
    assert (first.project_id, first.api_key, first.api_secret) == (
        e.livekit_project_id,
        e.livekit_api_key,
        e.livekit_api_secret,
    )
    assert e.livepeer_projects[0].api_key == e.livepeer_api_key
    assert all(p.api_secret not in repr(e) for p in e.livekit_projects)
    assert all(p.api_key not in repr(e) for p in e.livepeer_projects)


@pytest.mark.anyio
async def test_each_livekit_project_lists_its_own_sessions(
    running: Running, client: httpx.AsyncClient
) -> None:
    """Project i's path and key list exactly project i's world, details included."""
    seen: list[set[str]] = []
    for project, world in zip(
        running.sim.livekit_projects, running.sim.livekit_worlds, strict=True
    ):
        headers = bearer(token(running, project))
        response = await client.get(
            sessions_url(running, project), params={"limit": "100"}, headers=headers
        )
        assert response.status_code == 200
        ids = [item["sessionId"] for item in response.json()["sessions"]]
        assert ids == [t.session_id for t in world.sessions()]
        seen.append(set(ids))
        details = await client.get(f"{sessions_url(running, project)}/{ids[0]}", headers=headers)
        assert details.status_code == 200
        assert details.json()["roomId"] == ids[0]
    assert len(seen[0]) == len(seen[1]) == 15
    assert not seen[0] & seen[1]


@pytest.mark.anyio
async def test_a_key_is_refused_on_another_projects_path(
    running: Running, client: httpx.AsyncClient
) -> None:
    """A's token on B's path is a 401, the same answer as any key B does not know."""
    a, b = running.sim.livekit_projects
    refused = await client.get(sessions_url(running, b), headers=bearer(token(running, a)))
    assert (refused.status_code, refused.content) == (401, b"unauthorized: unknown API key\n")
    stranger = LiveKitProject("p_none", "APIstranger", "x" * 32)
    unknown = await client.get(sessions_url(running, b), headers=bearer(token(running, stranger)))
    assert (unknown.status_code, unknown.content) == (refused.status_code, refused.content)
    # B's key with A's secret is a forgery on B's path
    forged = LiveKitProject(b.project_id, b.api_key, a.api_secret)
    bad = await client.get(sessions_url(running, b), headers=bearer(token(running, forged)))
    assert bad.status_code == 401
    assert bad.content.startswith(b"unauthorized: invalid token")
    # a session of A is not found through B, even with B's own key
    one = running.sim.livekit_worlds[0].sessions()[0].session_id
    other = await client.get(f"{sessions_url(running, b)}/{one}", headers=bearer(token(running, b)))
    assert other.status_code == 404


@pytest.mark.anyio
async def test_each_studio_key_sees_only_its_own_project(
    running: Running, client: httpx.AsyncClient
) -> None:
    """Each key lists its own project's sessions, under that project's ``projectId``."""
    sim = running.sim
    listed: list[set[str]] = []
    for project, world in zip(sim.livepeer_projects, sim.livepeer_worlds, strict=True):
        items = await studio_list(running, client, project)
        assert [item["id"] for item in items] == [t.id for t in world.sessions()]
        assert {item["projectId"] for item in items} == {project.project_id}
        listed.append({str(item["id"]) for item in items})
    assert len({p.project_id for p in sim.livepeer_projects}) == 3
    assert len(set.union(*listed)) == sum(len(ids) for ids in listed) == 36
    first, second = sim.livepeer_projects[:2]
    mine = sim.livepeer_worlds[1].sessions()[0].id
    url = f"{running.livepeer_sessions_url}/{mine}"
    assert (await client.get(url, headers=bearer(second.api_key))).status_code == 200
    assert (await client.get(url, headers=bearer(first.api_key))).status_code == 404


@pytest.mark.anyio
async def test_studio_answers_are_per_key(running: Running, client: httpx.AsyncClient) -> None:
    """Each project has its CORS key and Basic user; unknown keys get the usual echo."""
    sim = running.sim
    url = running.livepeer_sessions_url
    cors = sim.credentials.livepeer[1].cors_api_key
    assert (await client.get(url, headers=bearer(cors))).status_code == 403
    key = sim.livepeer_projects[1].api_key
    user = sim.livepeer_worlds[1].user_id
    others = sim.livepeer_worlds[0].user_id

    def basic(name: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{name}:{key}".encode()).decode()}

    assert (await client.get(url, headers=basic(user))).status_code == 200
    wrong_user = await client.get(url, headers=basic(others))
    assert (wrong_user.status_code, wrong_user.json()) == (
        401,
        {"errors": [f"no token {key} found"]},
    )
    unknown = await client.get(url, headers=bearer("not-a-key"))
    assert (unknown.status_code, unknown.json()) == (401, {"errors": ["no token not-a-key found"]})


@pytest.mark.anyio
async def test_faults_and_the_log_are_shared_by_every_project(
    running: Running, client: httpx.AsyncClient
) -> None:
    """One fault board per endpoint: a fault set once is used up by whichever project calls."""
    a, b = running.sim.livekit_projects
    running.sim.faults.set("livekit.list", Fault(status=503, count=1))
    hit = await client.get(sessions_url(running, b), headers=bearer(token(running, b)))
    after = await client.get(sessions_url(running, a), headers=bearer(token(running, a)))
    assert (hit.status_code, after.status_code) == (503, 200)
    paths = [r.raw_path for r in running.sim.log.for_endpoint("livekit.list")[-2:]]
    assert paths == [f"/api/project/{p.project_id}/sessions" for p in (b, a)]


@pytest.mark.anyio
async def test_one_project_by_default_with_the_answers_of_before(
    client: httpx.AsyncClient,
) -> None:
    """Defaults serve one project of each API; refusals keep their exact bodies."""
    clock = FakeClock()
    sim = Simulator(SimulatorConfig(seed=3, livekit_sessions=4, livepeer_sessions=4, clock=clock))
    async with anyio.create_task_group() as tg:
        endpoints = await tg.start(sim.run)
        running = Running(sim, endpoints, clock)
        (project,) = endpoints.livekit_projects
        (studio,) = endpoints.livepeer_projects
        assert project == LiveKitProject(
            endpoints.livekit_project_id, endpoints.livekit_api_key, endpoints.livekit_api_secret
        )
        assert studio == LivepeerProject(endpoints.livepeer_api_key, sim.livepeer.project_id)
        base = endpoints.livekit_url
        other_project = await client.get(
            f"{base}/api/project/p_other/sessions", headers=running.livekit_headers()
        )
        other_key = await client.get(
            running.sessions_url, headers=running.livekit_headers(running.token(iss="APIelse"))
        )
        ok = await client.get(running.sessions_url, headers=running.livekit_headers())
        tg.cancel_scope.cancel()
    assert (other_project.status_code, other_project.content) == (404, b"404 page not found\n")
    assert (other_key.status_code, other_key.content) == (401, b"unauthorized: unknown API key\n")
    assert [i["sessionId"] for i in ok.json()["sessions"]] == [
        t.session_id for t in sim.livekit.sessions()
    ]
