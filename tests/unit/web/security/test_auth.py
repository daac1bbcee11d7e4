"""Basic-auth checks and the rate limiter of --web.config.file, without HTTP in the way."""

from __future__ import annotations

import time
from functools import cache

import anyio
import bcrypt
import pytest

from exporter.web.security.auth import GO_DUMMY_HASH, BasicAuth, RateLimiter, dummy_hash

pytestmark = pytest.mark.anyio


@cache
def hashed(password: bytes, cost: int = 4) -> str:
    """A bcrypt hash, cheap by default; cached because a cost-11 hash takes 0.1 s to make."""
    return bcrypt.hashpw(password, bcrypt.gensalt(cost)).decode()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def timed(auth: BasicAuth, users: dict[str, str], user: bytes, password: bytes) -> float:
    start = time.perf_counter()
    assert not await auth.check(users, user, password)
    return time.perf_counter() - start


# --- rate limiter ----------------------------------------------------------------------------


def test_bucket_starts_full_and_refills_one_token_per_interval() -> None:
    """A full bucket of burst tokens, then one more every interval, never above the burst."""
    clock = FakeClock()
    limiter = RateLimiter(2.0, 3, clock)
    assert [limiter.allow() for _ in range(4)] == [True, True, True, False]
    clock.now += 1.9
    assert not limiter.allow()
    clock.now += 0.1
    assert limiter.allow()
    assert not limiter.allow()
    clock.now += 3600
    assert [limiter.allow() for _ in range(4)] == [True, True, True, False]


def test_interval_zero_never_limits() -> None:
    """interval 0 disables the limiter, whatever the burst."""
    limiter = RateLimiter(0, 0, FakeClock())
    assert all(limiter.allow() for _ in range(1000))


def test_burst_zero_refuses_everything() -> None:
    """burst 0 with an interval refuses every request, as Go's limiter does."""
    clock = FakeClock()
    limiter = RateLimiter(1.0, 0, clock)
    assert not limiter.allow()
    clock.now += 100
    assert not limiter.allow()


def test_clock_stepping_back_does_not_drain_the_bucket() -> None:
    """A clock that goes backwards neither adds nor removes tokens."""
    clock = FakeClock()
    limiter = RateLimiter(1.0, 1, clock)
    assert limiter.allow()
    clock.now -= 50
    assert not limiter.allow()
    clock.now += 1
    assert limiter.allow()


# --- dummy hash ------------------------------------------------------------------------------


def test_go_dummy_is_the_hash_of_fakepassword() -> None:
    """The fallback is the toolkit's own dummy, bcrypt of 'fakepassword' at cost 10."""
    assert bcrypt.checkpw(b"fakepassword", GO_DUMMY_HASH.encode())
    assert dummy_hash([]) == GO_DUMMY_HASH


def test_dummy_takes_the_highest_well_formed_cost() -> None:
    """The dummy costs what the costliest configured hash costs; malformed ones are ignored."""
    hashes = [hashed(b"a", 4), hashed(b"b", 5), "$2y$31$short", "nonsense", "$2$12$" + "x" * 53]
    assert dummy_hash(hashes) == "$2y$05$" + GO_DUMMY_HASH[7:]
    assert dummy_hash(["$2b$12$" + "x" * 53, hashed(b"a", 4)]) == "$2y$12$" + GO_DUMMY_HASH[7:]
    assert dummy_hash([hashed(b"a", 4)]).startswith("$2y$04$")
    assert dummy_hash(["$2y$31$short", "$2y$03$" + "x" * 53]) == GO_DUMMY_HASH
    assert not bcrypt.checkpw(b"fakepassword", dummy_hash([hashed(b"a", 4)]).encode())


# --- basic auth ------------------------------------------------------------------------------


async def test_right_password_wrong_password_unknown_user() -> None:
    """Only a configured user with the right password passes; names compare as UTF-8 bytes."""
    auth = BasicAuth()
    users = {"alice": hashed(b"secret"), "jürgen": hashed(b"pw")}
    assert await auth.check(users, b"alice", b"secret")
    assert not await auth.check(users, b"alice", b"wrong")
    assert not await auth.check(users, b"mallory", b"secret")
    assert not await auth.check(users, b"Alice", b"secret")
    assert await auth.check(users, "jürgen".encode(), b"pw")


async def test_unknown_user_with_the_dummy_password_is_refused() -> None:
    """fakeuser/fakepassword matches Go's dummy hash and is still refused (the toolkit's test)."""
    assert not await BasicAuth().check({"alice": hashed(b"secret")}, b"fakeuser", b"fakepassword")
    assert not await BasicAuth().check({"a": GO_DUMMY_HASH}, b"fakeuser", b"fakepassword")


async def test_password_longer_than_72_bytes_is_cut_as_go_does() -> None:
    """Bytes after the 72nd are ignored: Go accepts them, bcrypt 5 alone would raise."""
    password = bytes(range(65, 65 + 72))
    users = {"alice": hashed(password)}
    auth = BasicAuth()
    assert await auth.check(users, b"alice", password + b"X")
    assert await auth.check(users, b"alice", password + b"anything else at all")
    assert not await auth.check(users, b"alice", password[:71])


async def test_unreadable_hashes_never_match() -> None:
    """A malformed hash, a bad salt or the $2$ prefix is a refusal, not a crash (contract)."""
    good = "$2a$10$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga"  # Go's "allmine"
    auth = BasicAuth()
    assert await auth.check({"u": good}, b"u", b"allmine")
    for broken in ("", "garbage", "$2$" + good[4:], good[:20] + "!" + good[21:], "$2y$10$é"):
        assert not await auth.check({"u": broken}, b"u", b"allmine"), broken


async def test_cve_2022_46146_cache_cannot_be_poisoned() -> None:
    """The toolkit's TestByPassBasicAuthVuln: neither login gets in, in that order."""
    alice = hashed(b"secret", 10)  # cost 10, so the dummy is exactly Go's 'fakepassword' hash
    users = {"alice": alice}
    auth = BasicAuth()
    assert not await auth.check(users, f"alice{alice}".encode(), b"fakepassword")
    assert not await auth.check(users, b"alice", f"{GO_DUMMY_HASH}fakepassword".encode())
    assert not await auth.check(users, b"alice", f"{alice}fakepassword".encode())
    assert await auth.check(users, b"alice", b"secret")


async def test_a_user_added_at_runtime_is_let_in_at_once() -> None:
    """A new mapping (the file was edited) is used on the next check, its cache included."""
    auth = BasicAuth()
    before = {"alice": hashed(b"secret")}
    assert not await auth.check(before, b"bob", b"hunter2")
    after = {**before, "bob": hashed(b"hunter2")}
    assert await auth.check(after, b"bob", b"hunter2")
    assert not await auth.check(before, b"bob", b"hunter2")


async def test_unknown_user_costs_what_a_known_user_costs() -> None:
    """On a first try an unknown user takes as long as a known one at the highest cost."""
    users = {"alice": hashed(b"secret", 11), "bob": hashed(b"secret", 4)}
    auth = BasicAuth()
    known = min([await timed(auth, users, b"alice", f"wrong{i}".encode()) for i in range(2)])
    unknown = min([await timed(auth, users, f"eve{i}".encode(), b"secret") for i in range(2)])
    cheap = min([await timed(auth, users, b"bob", f"wrong{i}".encode()) for i in range(2)])
    assert 0.6 < unknown / known < 1.6, (unknown, known)
    assert cheap < known / 10  # the measurement can tell costs apart
    assert unknown > 0.05  # more than Go's cost-10 dummy takes: the cost was copied


async def test_cached_repeat_is_fast() -> None:
    """A repeated check, right or wrong, is answered from the cache without bcrypt."""
    users = {"alice": hashed(b"secret", 10)}
    auth = BasicAuth()
    for user, password in ((b"alice", b"secret"), (b"alice", b"wrong"), (b"eve", b"x")):
        first = time.perf_counter()
        expected = await auth.check(users, user, password)
        second = time.perf_counter()
        assert await auth.check(users, user, password) == expected
        assert time.perf_counter() - second < 0.005
        assert second - first > 0.02


async def test_cache_keeps_at_most_100_and_evicts_a_tenth_at_random() -> None:
    """Full at 100, a miss drops 11 random entries then adds its own: 90, as cache.go."""
    users = {"alice": hashed(b"secret")}
    auth = BasicAuth()
    for i in range(100):
        assert not await auth.check(users, b"alice", f"w{i}".encode())
    assert len(auth._results) == 100
    assert await auth.check(users, b"alice", b"secret")
    assert len(auth._results) == 90
    assert (b"alice", users["alice"], b"secret") in auth._results


async def test_concurrent_identical_misses_run_bcrypt_once() -> None:
    """Twenty requests with the same new credentials wait for one bcrypt, not twenty."""
    users = {"alice": hashed(b"secret", 8)}
    single = await timed(BasicAuth(), users, b"alice", b"wrong")
    auth = BasicAuth()
    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(auth.check, users, b"alice", b"wrong")
    assert time.perf_counter() - start < 5 * single
