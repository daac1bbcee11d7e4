"""The simulator object: one world per project, the first one as the single-project world."""

from __future__ import annotations

from exporter.simulator import FakeClock, Simulator, SimulatorConfig
from exporter.simulator.common.seeded import project_seed


def test_the_first_projects_world_is_the_single_project_world() -> None:
    """Adding projects leaves the first project's world as a one-project run had it."""
    clock = FakeClock()
    single = Simulator(
        SimulatorConfig(seed=9, livekit_sessions=30, livepeer_sessions=30, clock=clock)
    )
    several = Simulator(
        SimulatorConfig(
            seed=9, livekit_sessions=30, livepeer_sessions=30, livekit_projects=3,
            livepeer_projects=2, clock=clock,
        )
    )  # fmt: skip
    assert several.livekit is several.livekit_worlds[0]
    assert several.livepeer is several.livepeer_worlds[0]
    assert several.livekit.sessions() == single.livekit.sessions()
    assert several.livepeer.sessions() == single.livepeer.sessions()
    assert len(single.livekit_worlds) == len(single.livepeer_worlds) == 1
    assert single.livekit_projects == single.credentials.livekit


def test_every_project_has_a_world_of_its_own() -> None:
    """Projects list as many sessions each, none shared; Studio projects differ by projectId."""
    clock = FakeClock()
    sim = Simulator(
        SimulatorConfig(
            seed=4, livekit_sessions=12, livepeer_sessions=7, livekit_projects=3,
            livepeer_projects=3, clock=clock,
        )
    )  # fmt: skip
    livekit_ids = [{t.session_id for t in world.sessions()} for world in sim.livekit_worlds]
    assert [len(ids) for ids in livekit_ids] == [12, 12, 12]
    assert len(set.union(*livekit_ids)) == 36
    rooms = [{t.room_name for t in world.sessions()} for world in sim.livekit_worlds]
    assert rooms[0] != rooms[1]
    livepeer_ids = [{t.id for t in world.sessions()} for world in sim.livepeer_worlds]
    assert len(set.union(*livepeer_ids)) == 21
    projects = [p.project_id for p in sim.livepeer_projects]
    assert len(set(projects)) == 3
    for project, world in zip(sim.livepeer_projects, sim.livepeer_worlds, strict=True):
        assert {t.project_id for t in world.sessions()} == {project.project_id}
    keys = [p.api_key for p in sim.livepeer_projects]
    assert keys == [k.api_key for k in sim.credentials.livepeer]


def test_project_seeds_keep_the_first_and_spread_the_others() -> None:
    assert project_seed(7, 0) == 7
    seeds = {project_seed(7, index) for index in range(1, 200)}
    assert len(seeds) == 199
    assert 7 not in seeds
    assert project_seed(7, 1) == project_seed(7, 1) != project_seed(8, 1)
