"""Basic auth and rate limiting of ``--web.config.file``, with the toolkit's runtime semantics.

Both are kept apart from the ASGI plumbing (``middleware.py``) so their security properties
(timing parity, the CVE-2022-46146 cache key, Go's 72-byte truncation, the bucket's arithmetic)
are tested directly, without HTTP in the way.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Final

import anyio
import anyio.to_thread
import bcrypt

__all__ = ["GO_DUMMY_HASH", "BasicAuth", "RateLimiter", "dummy_hash"]

GO_DUMMY_HASH: Final = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"
"""The toolkit's fixed dummy (bcrypt of ``fakepassword`` at cost 10), used when no configured
hash names a cost."""

_MAX_PASSWORD: Final = 72
"""bcrypt reads 72 bytes; Go silently ignores the rest, bcrypt 5 raises instead."""

_WELL_FORMED: Final = re.compile(r"\$2[abxy]\$(\d\d)\$[./A-Za-z0-9]{53}")
"""A hash whose cost is worth copying. One bcrypt cannot read (``$2$`` included) fails without
hashing, so letting its cost (up to 31) drive the dummy would make every unknown user far
slower than any real one, and hold the one bcrypt lock all that time."""

_CACHE_SIZE: Final = 100


def dummy_hash(hashes: Iterable[str]) -> str:
    """The hash an unknown user is checked against: as costly as the costliest configured one.

    Go always uses its cost-10 dummy, so with cost-12 users an unknown name answers four times
    faster than a known one and user names can be enumerated by timing. Only the cost field of
    Go's dummy is changed: bcrypt's running time depends on the cost alone, so no hash has to be
    computed (none at start, none on the first request after a reload) and the first unknown
    user already costs what a known one does. Nobody knows a password for the result, and an
    unknown user is refused whatever the outcome.
    """
    costs = [
        int(match.group(1))
        for hashed in hashes
        if (match := _WELL_FORMED.fullmatch(hashed)) and 4 <= int(match.group(1)) <= 31
    ]
    if not costs:
        return GO_DUMMY_HASH
    return f"$2y${max(costs):02d}${GO_DUMMY_HASH[7:]}"


class RateLimiter:
    """``rate_limit``: one token bucket for the whole server, initially full.

    Go's ``rate.NewLimiter(rate.Every(interval), burst)``: a token every ``interval`` seconds,
    at most ``burst`` held. An interval of 0 (or less) means no limit whatever the burst; a
    burst of 0 with an interval refuses everything, as Go's limiter does. Only the event loop
    calls ``allow``, so no lock is needed.
    """

    def __init__(
        self, interval: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._interval = interval
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def allow(self) -> bool:
        """Take a token if one is there; False means answer 429."""
        if self._interval <= 0:
            return True
        now = self._clock()
        # max(): a clock that steps back must not drain the bucket
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._tokens = min(self._burst, self._tokens + elapsed / self._interval)
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


class _Users:
    """One ``basic_auth_users`` mapping prepared for lookups: bytes keys and its dummy hash."""

    __slots__ = ("dummy", "hashes", "source")

    def __init__(self, source: Mapping[str, str]) -> None:
        self.source = source
        self.hashes = {name.encode(): hashed for name, hashed in source.items()}
        self.dummy = dummy_hash(source.values())


class BasicAuth:
    """Checks basic-auth credentials as the toolkit does, without blocking the event loop.

    - The password is cut to 72 bytes, as Go's bcrypt does (bcrypt 5 would raise).
    - An unknown user is checked against a dummy hash of the highest configured cost.
    - Results are cached by the tuple ``(user, hash, password)``: a tuple cannot collide the
      way the concatenated key of CVE-2022-46146 did. The cached value is bcrypt's own verdict
      for that password and hash, and whether the user exists is decided afresh on every
      request, so no cache entry can let an unknown user in.
    - A miss runs bcrypt in a worker thread under one lock: a flood of wrong passwords costs
      one core, not one per connection, and cached credentials still answer at once.
    - A hash bcrypt cannot read (``$2$``, a bad salt) never matches: 401, not a crash. Go
      reads ``$2$`` as ``$2a$``; the contract keeps the stricter behaviour of the library.
    """

    def __init__(self, *, cache_size: int = _CACHE_SIZE) -> None:
        self._cache_size = cache_size
        self._results: dict[tuple[bytes, str, bytes], bool] = {}
        self._lock = anyio.Lock()
        self._users: _Users | None = None
        self._random = secrets.SystemRandom()

    async def check(self, users: Mapping[str, str], user: bytes, password: bytes) -> bool:
        """Whether ``user`` (compared as bytes with the UTF-8 names) may enter with ``password``."""
        table = self._prepared(users)
        hashed = table.hashes.get(user)
        valid = hashed is not None
        if hashed is None:
            hashed = table.dummy
        key = (user, hashed, password)
        match = self._results.get(key)
        if match is None:
            async with self._lock:
                # whoever held the lock may have just computed this very key
                match = self._results.get(key)
                if match is None:
                    match = await anyio.to_thread.run_sync(_matches, password, hashed)
                    self._remember(key, match)
        return valid and match

    def _prepared(self, users: Mapping[str, str]) -> _Users:
        # The loader hands out the same mapping until the file changes, so identity is a
        # cheap and exact test; the reference held in _Users keeps the id from being reused.
        table = self._users
        if table is None or table.source is not users:
            table = self._users = _Users(users)
        return table

    def _remember(self, key: tuple[bytes, str, bytes], match: bool) -> None:
        if len(self._results) >= self._cache_size:
            # The toolkit's cache.go: drop a tenth plus one at random, so a full cache
            # does not evict on every miss.
            doomed = self._random.sample(list(self._results), len(self._results) // 10 + 1)
            for old in doomed:
                del self._results[old]
        self._results[key] = match


def _matches(password: bytes, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password[:_MAX_PASSWORD], hashed.encode())
    except ValueError:  # an unreadable hash (UnicodeEncodeError is one too) never matches
        return False
