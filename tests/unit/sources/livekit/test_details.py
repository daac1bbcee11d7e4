"""Round-robin planning of LiveKit details refreshes, and the per-session cache."""

from __future__ import annotations

import math

from exporter.sources.livekit.details import DetailsCache
from exporter.sources.livekit.wire import Publishers, SessionDetails


def details(camera: int) -> SessionDetails:
    return SessionDetails(Publishers(camera=camera), None, None)


def run_poll(cache: DetailsCache, active: list[str], allowance: int) -> list[str]:
    planned = cache.plan(active, allowance)
    for session_id in planned:
        cache.store(session_id, details(1))
    return planned


def test_everything_is_refreshed_when_the_budget_allows() -> None:
    """With budget for all, every active session is refreshed each poll, in list order."""
    cache = DetailsCache()
    assert run_poll(cache, ["a", "b", "c"], 10) == ["a", "b", "c"]
    assert run_poll(cache, ["a", "b", "c"], 10) == ["a", "b", "c"]


def test_round_robin_refreshes_every_session_in_turn() -> None:
    """With budget for 2 of 5 sessions, the polls go ab, cd, ea, bc, de: each in turn."""
    cache = DetailsCache()
    active = ["a", "b", "c", "d", "e"]
    plans = ["".join(run_poll(cache, active, 2)) for _ in range(5)]
    assert plans == ["ab", "cd", "ea", "bc", "de"]


def test_no_session_waits_more_than_its_share_of_polls() -> None:
    """With N sessions and k refreshes a poll, each is refreshed within ceil(N/k) polls."""
    cache = DetailsCache()
    active = [f"RM_{i:03d}" for i in range(37)]
    last: dict[str, int] = {}
    worst = 0
    for poll in range(40):
        for session_id in run_poll(cache, active, 5):
            worst = max(worst, poll - last.get(session_id, -1))
            last[session_id] = poll
    assert set(last) == set(active)
    assert worst <= math.ceil(37 / 5)


def test_new_sessions_jump_the_queue() -> None:
    """A session never fetched goes before those waiting for a refresh."""
    cache = DetailsCache()
    run_poll(cache, ["a", "b", "c"], 3)
    assert run_poll(cache, ["a", "b", "c", "new"], 2) == ["new", "a"]


def test_ended_sessions_leave_the_cache() -> None:
    """Details of a session that is no longer active are dropped at the next plan."""
    cache = DetailsCache()
    run_poll(cache, ["a", "b"], 2)
    assert set(cache.known()) == {"a", "b"}
    cache.plan(["b"], 0)
    assert set(cache.known()) == {"b"}


def test_a_vanished_session_has_no_details_but_keeps_its_turn() -> None:
    """A 404 forgets the details yet counts as a refresh, so it does not hog the budget."""
    cache = DetailsCache()
    run_poll(cache, ["a", "b"], 2)
    cache.plan(["a", "b"], 1)
    cache.store("a", None)
    assert set(cache.known()) == {"b"}
    assert cache.plan(["a", "b"], 1) == ["b"]


def test_an_unusable_answer_keeps_the_old_details_and_moves_on() -> None:
    """An invalid details body keeps the previous details and passes the turn."""
    cache = DetailsCache()
    cache.plan(["a", "b"], 2)
    cache.store("a", details(3))
    cache.store("b", details(1))
    cache.plan(["a", "b"], 1)
    cache.tried("a")
    assert cache.known()["a"] == details(3)
    assert cache.plan(["a", "b"], 1) == ["b"]
    cache.tried("new")
    assert "new" not in cache.known()


def test_clear_forgets_everything() -> None:
    """Turning details off forgets the cache."""
    cache = DetailsCache()
    run_poll(cache, ["a"], 1)
    cache.clear()
    assert cache.known() == {}
