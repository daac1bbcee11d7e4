"""The web-config middleware over a real loopback socket: auth, headers, 429, 500, pass-through."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import cache

import anyio
import bcrypt
import httpx
import pytest
import structlog
from structlog.testing import capture_logs

from exporter.config.values import ListenAddress
from exporter.web.security.auth import GO_DUMMY_HASH, BasicAuth, RateLimiter
from exporter.web.security.middleware import SecuredApp, basic_credentials
from exporter.web.security.schema import HTTPServerConfig, WebConfig, WebConfigError
from exporter.web.server import ASGIApp, Message, Receive, Scope, Send, bind, bound_url, serve

pytestmark = pytest.mark.anyio

HEADERS = {
    "X-Frame-Options": "deny",
    "Strict-Transport-Security": "max-age=31536000",
    "X-Content-Type-Options": "nosniff",
    "X-XSS-Protection": "",
}
EXPECTED = {name.lower(): value for name, value in HEADERS.items() if value}


@cache
def hashed(password: bytes, cost: int = 4) -> str:
    return bcrypt.hashpw(password, bcrypt.gensalt(cost)).decode()


def basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


class Inner:
    """The exporter's app stand-in: 200 on any path but /missing (404); /own sets a header."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.seen.append(scope["type"])
        if scope["type"] != "http":
            return
        status = 404 if scope["path"] == "/missing" else 200
        headers = [(b"content-type", b"text/plain")]
        if scope["path"] == "/own":
            headers.append((b"x-frame-options", b"sameorigin"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"ok\n"})


class Current:
    """The loader stand-in: the configuration in force, or the error of an invalid file."""

    def __init__(self, config: WebConfig) -> None:
        self.config = config
        self.broken = False

    def __call__(self) -> WebConfig:
        if self.broken:
            raise WebConfigError("web config: invalid")
        return self.config


class FakeClock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def config(
    users: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None
) -> WebConfig:
    return WebConfig(http=HTTPServerConfig(headers=dict(headers or {})), users=dict(users or {}))


def secured(
    current: Current, limiter: RateLimiter | None = None, inner: ASGIApp | None = None
) -> SecuredApp:
    return SecuredApp(inner or Inner(), current, limiter, BasicAuth(), structlog.get_logger())


@asynccontextmanager
async def served(app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    async with anyio.create_task_group() as tg:
        sock = bind(ListenAddress("127.0.0.1", 0))
        await tg.start(serve, app, sock)
        async with httpx.AsyncClient(base_url=bound_url(sock), timeout=10) as client:
            yield client
        tg.cancel_scope.cancel()


def assert_configured(response: httpx.Response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get_list(name) == [value], name
    assert "x-xss-protection" not in response.headers  # blank: left out


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.content == b"Unauthorized\n"
    assert response.headers["www-authenticate"] == "Basic"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_wrong_password_is_401_with_the_configured_headers() -> None:
    """A wrong password gets the exact 401 of the toolkit, carrying the configured headers."""
    app = secured(Current(config({"alice": hashed(b"secret")}, HEADERS)))
    async with served(app) as client:
        response = await client.get("/metrics", headers=basic("alice", "wrong"))
        assert_unauthorized(response)
        assert_configured(response)
        assert response.headers["content-length"] == "13"
        head = await client.head("/metrics", headers=basic("alice", "wrong"))
        assert head.status_code == 401
        assert head.content == b""
        assert (await client.get("/", headers=basic("alice", "secret"))).status_code == 200


async def test_credentials_as_go_parses_them() -> None:
    """Colons in passwords, a lowercase scheme, UTF-8 names and 73 bytes (72 count) pass."""
    colon = "pa:ss:word"
    long = "x" * 72
    users = {"alice": hashed(colon.encode()), "jürgen": hashed(b"pw"), "bob": hashed(long.encode())}
    token = basic("alice", colon)["authorization"].removeprefix("Basic ")
    accepted = [
        basic("alice", colon),
        {"authorization": f"basic {token}"},
        basic("jürgen", "pw"),
        basic("bob", long + "!"),
    ]
    refused = [
        {},
        {"authorization": "Bearer abc"},
        {"authorization": "Basic !!!not-base64"},
        {"authorization": f"Basic {token[:-1]}"},  # padding cut short
        {"authorization": "Basic " + base64.b64encode(b"no colon").decode()},
        basic("alice", "pa:ss"),
        basic("jurgen", "pw"),
    ]
    async with served(secured(Current(config(users)))) as client:
        for headers in accepted:
            assert (await client.get("/", headers=headers)).status_code == 200, headers
        assert (await client.options("/anything", headers=accepted[0])).status_code == 200
        for headers in refused:
            assert_unauthorized(await client.get("/metrics", headers=headers))
        assert_unauthorized(await client.request("DELETE", "/"))


def test_basic_credentials_parser() -> None:
    """The Authorization parser: scheme case, strict base64, split at the first colon."""
    assert basic_credentials(b"Basic YTpiOmM=") == (b"a", b"b:c")
    assert basic_credentials(b"bAsIc YTo=") == (b"a", b"")
    assert basic_credentials(b"Basic YTpi\n") is None
    assert basic_credentials(b"Basic  YTpi") is None
    assert basic_credentials(b"Basic") is None
    assert basic_credentials(b"Basicx YTpi") is None
    assert basic_credentials(b"Digest YTpi") is None


async def test_cve_2022_46146_sequence_over_http() -> None:
    """The toolkit's TestByPassBasicAuthVuln: both logins are refused."""
    alice = hashed(b"secret", 10)  # cost 10: the dummy is Go's, which 'fakepassword' matches
    app = secured(Current(config({"alice": alice})))
    async with served(app) as client:
        first = await client.get("/", headers=basic(f"alice{alice}", "fakepassword"))
        second = await client.get("/", headers=basic("alice", f"{GO_DUMMY_HASH}fakepassword"))
        assert_unauthorized(first)
        assert_unauthorized(second)


async def test_headers_on_200_404_401_and_429() -> None:
    """The configured headers are on every answer; a header the app sets itself wins."""
    clock = FakeClock()
    app = secured(Current(config({"alice": hashed(b"secret")}, HEADERS)), RateLimiter(1, 4, clock))
    good = basic("alice", "secret")
    async with served(app) as client:
        ok = await client.get("/", headers=good)
        missing = await client.get("/missing", headers=good)
        refused = await client.get("/")
        own = await client.get("/own", headers=good)
        limited = await client.get("/", headers=good)
    codes = [response.status_code for response in (ok, missing, refused, own, limited)]
    assert codes == [200, 404, 401, 200, 429]
    for response in (ok, missing, refused, limited):
        assert_configured(response)
    assert own.headers.get_list("x-frame-options") == ["sameorigin"]
    assert limited.content == b"Too Many Requests\n"
    assert limited.headers["content-type"] == "text/plain; charset=utf-8"
    assert limited.headers.get_list("x-content-type-options") == ["nosniff"]


async def test_rate_limit_refuses_after_the_burst_and_refills() -> None:
    """429 after burst requests, before auth is even looked at; a token back after interval."""
    clock = FakeClock()
    app = secured(Current(config({"alice": hashed(b"secret")})), RateLimiter(10, 2, clock))
    with capture_logs() as logs:
        async with served(app) as client:
            codes = [(await client.get("/")).status_code for _ in range(3)]
            assert (await client.get("/", headers=basic("alice", "secret"))).status_code == 429
            clock.now += 10
            assert (await client.get("/", headers=basic("alice", "secret"))).status_code == 200
            assert (await client.get("/")).status_code == 429
    assert codes == [401, 401, 429]
    assert {entry["event"] for entry in logs} == {"web_rate_limited"}
    assert [entry["refused_total"] for entry in logs] == [1, 2]  # 1st, 2nd, 4th... refusal


async def test_no_limiter_and_burst_zero() -> None:
    """Without a limiter (interval 0) nothing is refused; burst 0 refuses every request."""
    async with served(secured(Current(config()))) as client:
        assert {(await client.get("/")).status_code for _ in range(50)} == {200}
    app = secured(Current(config()), RateLimiter(5, 0, FakeClock()))
    async with served(app) as client:
        assert {(await client.get("/")).status_code for _ in range(3)} == {429}


async def test_invalid_config_is_500_without_configured_headers() -> None:
    """An invalid file answers 500 with no configured header, then recovers when fixed."""
    current = Current(config({"alice": hashed(b"secret")}, HEADERS))
    async with served(secured(current)) as client:
        current.broken = True
        response = await client.get("/metrics", headers=basic("alice", "secret"))
        assert response.status_code == 500
        assert response.content == b"Internal Server Error\n"
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "x-frame-options" not in response.headers
        assert "www-authenticate" not in response.headers
        current.broken = False
        assert (await client.get("/", headers=basic("alice", "secret"))).status_code == 200


async def test_no_users_and_no_headers_pass_straight_through() -> None:
    """With neither users nor headers the app's own answer goes out untouched."""
    async with served(secured(Current(config()))) as client:
        response = await client.get("/missing")
    assert response.status_code == 404
    assert response.content == b"ok\n"
    assert "x-content-type-options" not in response.headers


async def test_lifespan_passes_and_websockets_are_dropped() -> None:
    """Lifespan reaches the app; a websocket never does, so nothing bypasses the checks."""
    inner = Inner()
    app = secured(Current(config({"alice": hashed(b"secret")})), inner=inner)
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    await app({"type": "websocket", "path": "/", "headers": []}, receive, send)
    assert inner.seen == ["lifespan"]
    assert sent == []


async def test_cached_credentials_answer_while_bad_passwords_queue() -> None:
    """50 wrong passwords queue on bcrypt off the loop; cached good credentials answer at once."""
    users = {"alice": hashed(b"secret", 7)}
    app = secured(Current(config(users)))
    good = basic("alice", "secret")
    async with served(app) as client:  # httpx pools up to 100 connections: all 51 open
        assert (await client.get("/", headers=good)).status_code == 200  # now cached
        codes: list[int] = []
        latencies: list[float] = []

        async def bad(i: int) -> None:
            codes.append((await client.get("/", headers=basic("alice", f"x{i}"))).status_code)

        async with anyio.create_task_group() as tg:
            start = time.perf_counter()
            for i in range(50):
                tg.start_soon(bad, i)
            await anyio.sleep(0.02)
            for _ in range(5):
                began = time.perf_counter()
                assert (await client.get("/", headers=good)).status_code == 200
                latencies.append(time.perf_counter() - began)
        total = time.perf_counter() - start
    assert codes == [401] * 50
    # The wrong passwords take 50 cost-7 bcrypts in a row (~0.4 s); a good request waits only
    # for the loop, which client and server share here with 50 busy connections. With bcrypt
    # on the loop the slowest waited half the total; off it, a tenth even on a loaded machine.
    assert max(latencies) < total / 5, (latencies, total)
