"""LiveKit access tokens: minted locally, reused until well before expiry, renewed on a 401.

The Analytics API takes ``Authorization: Bearer <JWT>``: HS256, signed with the API secret,
``iss`` = API key, ``sub`` = an identity, ``nbf`` and ``exp`` in whole seconds, and the one
grant it needs, ``video.roomList``. Tokens are short-lived (``--livekit.token-ttl``, 10 m by
default) so a leaked one is worth little, and re-minted at :data:`REFRESH_AT` of their life, so
a request never carries a token about to expire. The secret is read only here, at signing time,
and neither it nor a token is ever passed to a log call or put in an error message.

:class:`LiveKitAuth` is how requests get their token: an ``httpx.Auth`` flow that also spends
the project's request budget, one token of it per HTTP attempt.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import AsyncGenerator, Generator
from typing import Final

import httpx
import jwt
from jwt.warnings import InsecureKeyLengthWarning

from exporter.clock import Clock
from exporter.config.secrets import Secret
from exporter.sources.base import Telemetry
from exporter.sources.livekit.budget import TokenBucket

__all__ = ["IDENTITY", "NBF_SKEW", "REFRESH_AT", "LiveKitAuth", "TokenMinter"]

IDENTITY: Final = "livesession-exporter"
"""The ``sub`` claim: LiveKit's Python SDK always sends one, so we name ourselves."""
NBF_SKEW: Final = 10
"""Seconds ``nbf`` is set in the past, so a server whose clock is a little behind accepts it."""
REFRESH_AT: Final = 0.8
"""Fraction of a token's lifetime after which the next request gets a new token."""


class TokenMinter:
    """Mints the bearer token for one project and hands out the current one.

    ``token()`` mints at most once per refresh point; ``renew(used)`` is for a 401: it mints a
    new token only if ``used`` is still the current one, so concurrent requests that all got
    a 401 with the same token cause a single re-mint.
    """

    def __init__(
        self,
        api_key: str,
        api_secret: Secret,
        *,
        ttl: float,
        clock: Clock,
        telemetry: Telemetry,
        identity: str = IDENTITY,
    ) -> None:
        self._api_key = api_key
        self._secret = api_secret
        self._ttl = max(1, math.ceil(ttl))
        self._clock = clock
        self._telemetry = telemetry
        self._identity = identity
        self._token: str | None = None
        self._refresh_due = 0.0

    def token(self) -> str:
        """The current token, minted first if there is none or it has reached its refresh point."""
        if self._token is None or self._clock.monotonic() >= self._refresh_due:
            return self._mint()
        return self._token

    def renew(self, used: str) -> str:
        """A token to retry with after ``used`` got a 401: a new one, unless already renewed."""
        if used == self._token:
            return self._mint()
        return self.token()

    def _mint(self) -> str:
        issued = math.floor(self._clock.time())
        expires = issued + self._ttl
        claims = {
            "iss": self._api_key,
            "sub": self._identity,
            "nbf": issued - NBF_SKEW,
            "exp": expires,
            "video": {"roomList": True},
        }
        with warnings.catch_warnings():
            # LiveKit issues the secret and we cannot lengthen it; PyJWT's warning about a
            # short HMAC key would only print a stray non-JSON line into the logs.
            warnings.simplefilter("ignore", InsecureKeyLengthWarning)
            token = jwt.encode(claims, self._secret.reveal(), algorithm="HS256")
        self._token = token
        self._refresh_due = self._clock.monotonic() + REFRESH_AT * self._ttl
        self._telemetry.token_expiry(float(expires))
        return token


class LiveKitAuth(httpx.Auth):
    """Bearer auth for one project's requests: each HTTP attempt first takes a token from the
    request budget (waiting for one if it must), then carries the current JWT; a 401 re-mints
    the token once and retries once (which takes another token of the budget)."""

    def __init__(self, minter: TokenMinter, budget: TokenBucket) -> None:
        self._minter = minter
        self._budget = budget

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await self._budget.take()
        token = self._minter.token()
        request.headers["authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            await self._budget.take()
            request.headers["authorization"] = f"Bearer {self._minter.renew(token)}"
            yield request

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("LiveKitAuth waits for its budget: use it with an httpx.AsyncClient")
