"""LiveKit tokens: claims, LiveKit's own verifier, reuse, refresh, and the httpx auth flow that
sends them, spends the budget and re-mints once on a 401."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import timedelta

import anyio
import httpx
import jwt
import pytest
from livekit.api import TokenVerifier
from prometheus_client import CollectorRegistry

from exporter.config.secrets import Secret
from exporter.exposition.self_metrics import SelfMetrics
from exporter.sources.livekit.auth import IDENTITY, NBF_SKEW, LiveKitAuth, TokenMinter
from exporter.sources.livekit.budget import TokenBucket
from tests.support.fakes import FakeClock, eventually
from tests.unit.sources.livekit.fake_api import as_sent

API_KEY = "APIkey123"
API_SECRET = "s" * 24 + "-secret-of-32+bytes"
EXPIRY = "livesession_exporter_token_expiry_timestamp_seconds"
pytestmark = pytest.mark.anyio


def minter(
    clock: FakeClock, *, ttl: float = 600, secret: str = API_SECRET
) -> tuple[TokenMinter, CollectorRegistry]:
    registry = CollectorRegistry()
    telemetry = SelfMetrics(registry).target("livekit_cloud", "p_test", "p_test")
    return TokenMinter(API_KEY, Secret(secret), ttl=ttl, clock=clock, telemetry=telemetry), registry


def decode(token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(
        token,
        API_SECRET,
        algorithms=["HS256"],
        issuer=API_KEY,
        options={"verify_exp": False, "verify_nbf": False},
    )
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "HS256", "typ": "JWT"}
    return claims


def test_claims_are_exactly_what_the_analytics_api_needs() -> None:
    """HS256 with iss, sub, nbf a little in the past, exp after the TTL, and roomList only."""
    clock = FakeClock(wall=1_800_000_000.7)
    tokens, registry = minter(clock, ttl=600)
    claims = decode(tokens.token())
    assert claims == {
        "iss": API_KEY,
        "sub": IDENTITY,
        "nbf": 1_800_000_000 - NBF_SKEW,
        "exp": 1_800_000_600,
        "video": {"roomList": True},
    }
    assert registry.get_sample_value(
        EXPIRY, {"source": "livekit_cloud", "target": "p_test"}
    ) == float(1_800_000_600)


def test_livekit_token_verifier_accepts_the_token() -> None:
    """LiveKit's own TokenVerifier (the server-side check) accepts the token with roomList."""
    clock = FakeClock(wall=time.time())
    tokens, _ = minter(clock)
    verifier = TokenVerifier(API_KEY, API_SECRET, leeway=timedelta(seconds=0))
    claims = verifier.verify(tokens.token())
    assert claims.identity == IDENTITY
    assert claims.video is not None
    assert claims.video.room_list is True


def test_a_wrong_secret_does_not_verify() -> None:
    """The token is really signed with the secret: another secret rejects it."""
    clock = FakeClock(wall=time.time())
    tokens, _ = minter(clock)
    with pytest.raises(jwt.InvalidSignatureError):
        TokenVerifier(API_KEY, "another-secret-that-is-long-enough!").verify(tokens.token())


async def test_token_is_reused_until_its_refresh_point() -> None:
    """One token serves every request until 80 % of its life, then exactly one new one."""
    clock = FakeClock()
    tokens, registry = minter(clock, ttl=600)
    first = tokens.token()
    await clock.advance(479.0)
    assert tokens.token() == first
    await clock.advance(1.0)
    second = tokens.token()
    assert second != first
    assert tokens.token() == second
    assert decode(second)["exp"] == 1_800_000_000 + 480 + 600
    labels = {"source": "livekit_cloud", "target": "p_test"}
    assert registry.get_sample_value(EXPIRY, labels) == 1_800_001_080


async def test_renew_after_a_401_mints_once_for_concurrent_failures() -> None:
    """Requests that all got a 401 with the same token cause one re-mint, not one each."""
    clock = FakeClock()
    tokens, _ = minter(clock)
    used = tokens.token()
    await clock.advance(1.0)  # a new token differs from the old only if a claim changes
    renewed = tokens.renew(used)
    assert renewed != used
    assert tokens.renew(used) == renewed
    assert tokens.token() == renewed


def test_fractional_ttl_rounds_up_to_whole_seconds() -> None:
    """exp and nbf are whole seconds even for a fractional TTL."""
    clock = FakeClock(wall=1_800_000_000.0)
    tokens, _ = minter(clock, ttl=90.5)
    claims = decode(tokens.token())
    assert claims["exp"] == 1_800_000_091
    assert isinstance(claims["nbf"], int)


def test_a_short_secret_mints_without_a_stray_warning() -> None:
    """LiveKit issues the secret; PyJWT's short-key warning must not reach stderr or fail."""
    clock = FakeClock()
    tokens, _ = minter(clock, secret="short-secret")
    token = tokens.token()  # filterwarnings=error turns a leaked warning into a failure
    signing_input, _, signature = token.rpartition(".")
    digest = hmac.new(b"short-secret", signing_input.encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == signature


def test_the_secret_never_shows_in_the_minter() -> None:
    """Neither the minter's repr nor its attributes print the secret."""
    clock = FakeClock()
    tokens, _ = minter(clock)
    tokens.token()
    assert API_SECRET not in repr(vars(tokens))
    assert API_SECRET not in repr(tokens)


def bearer(request: httpx.Request) -> str:
    return request.headers["authorization"].removeprefix("Bearer ")


async def send(
    auth: LiveKitAuth, statuses: list[int]
) -> tuple[httpx.Response, list[httpx.Request]]:
    """One GET through ``auth``, answered with ``statuses`` in turn (the last repeating)."""
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(as_sent(request))
        return httpx.Response(statuses[min(len(sent), len(statuses)) - 1])

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        return await client.get("http://livekit.test/x", auth=auth), sent


async def test_the_flow_sends_the_current_token_and_spends_one_budget_token() -> None:
    """Each request carries the minter's current token and takes one token of the budget."""
    clock = FakeClock()
    tokens, _ = minter(clock)
    budget = TokenBucket(60, 3, clock)
    response, sent = await send(LiveKitAuth(tokens, budget), [200])
    assert response.status_code == 200
    assert [bearer(r) for r in sent] == [tokens.token()]
    assert budget.available() == pytest.approx(2)


async def test_a_401_is_retried_once_with_a_new_token_and_another_budget_token() -> None:
    """A 401 re-mints the token once and sends the request once more; a second 401 stands."""
    clock = FakeClock()
    tokens, registry = minter(clock)
    budget = TokenBucket(60, 5, clock)
    first = tokens.token()
    await clock.advance(1.0)  # a new token differs from the old only if a claim changes
    response, sent = await send(LiveKitAuth(tokens, budget), [401])
    assert response.status_code == 401
    assert len(sent) == 2
    assert bearer(sent[0]) == first != bearer(sent[1]) == tokens.token()
    assert budget.available() == pytest.approx(3)
    labels = {"source": "livekit_cloud", "target": "p_test"}
    assert registry.get_sample_value(EXPIRY, labels) == decode(bearer(sent[1]))["exp"]


async def test_each_attempt_waits_for_the_budget() -> None:
    """With the budget spent, the retry after a 401 waits for a token on the clock."""
    clock = FakeClock()
    tokens, _ = minter(clock)
    budget = TokenBucket(60, 1, clock)
    done: list[int] = []

    async def run() -> None:
        response, _ = await send(LiveKitAuth(tokens, budget), [401, 200])
        done.append(response.status_code)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await eventually(lambda: bool(clock.sleepers))
        assert clock.sleepers == [pytest.approx(clock.monotonic() + 1.0)]
        await clock.advance(1.0)
    assert done == [200]


def test_the_flow_refuses_a_sync_client() -> None:
    """The budget is awaited, so a sync client cannot use the flow (rather than send no token)."""
    clock = FakeClock()
    tokens, _ = minter(clock)
    auth = LiveKitAuth(tokens, TokenBucket(60, 1, clock))
    with (
        httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200))) as client,
        pytest.raises(RuntimeError, match="AsyncClient"),
    ):
        client.get("http://livekit.test/x", auth=auth)
