"""The request prelude both fake APIs share: routing, logging, 404/405, faults, then auth."""

from __future__ import annotations

import pytest

from exporter.simulator import FakeClock, Fault, FaultBoard, RequestLog
from exporter.simulator.http.asgi import Exchange, Stopping
from exporter.simulator.http.fake_api import AppContext, FakeApi, Refusal, Route, resource_route
from exporter.simulator.http.requestlog import RecordedRequest
from exporter.web.server import Message, Scope


def scope(raw_path: bytes, method: str = "GET", auth: bytes = b"ok") -> Scope:
    return {
        "type": "http",
        "method": method,
        "path": raw_path.decode(),
        "raw_path": raw_path,
        "query_string": b"",
        "headers": [(b"authorization", auth)],
    }


@pytest.mark.parametrize(
    ("raw_path", "expected"),
    [
        (b"/api/things", ([b"", b"api", b"things"], None)),
        (b"/api/things/", ([b"", b"api", b"things"], None)),
        (b"/api/things/a%2Fb%252F", ([b"", b"api", b"things"], "a/b%2F")),
        (b"/api/things/%2E%2E", ([b"", b"api", b"things"], "..")),
        (b"/api/things/..", None),
        (b"/api/./things", None),
        (b"/api/things/a/b", None),
        (b"/api", None),
        (b"/api/things/%FF", None),
    ],
)
def test_resource_routes_decode_the_id_once(
    raw_path: bytes, expected: tuple[list[bytes], str | None] | None
) -> None:
    """A collection, with or without its slash, or one item whose id is decoded exactly once."""
    assert resource_route(scope(raw_path), 3) == expected


class Toy(FakeApi[str]):
    """A fake API of ``/api/things[/{id}]`` that answers 200 with the world its key sees."""

    api = "livekit"
    not_found = "nothing here"

    def __init__(self, context: AppContext) -> None:
        super().__init__(context)
        self.answered: list[tuple[Route, Fault | None, float]] = []

    def route(self, scope: Scope) -> Route | None:
        found = resource_route(scope, 3)
        if found is None or found[0] != [b"", b"api", b"things"]:
            return None
        return Route("livekit.list" if found[1] is None else "livekit.details", found[1])

    def error(self, message: str) -> tuple[bytes, str]:
        return f"<{message}>".encode(), "text/x-toy"

    def authenticate(self, record: RecordedRequest, route: Route, now: float) -> str | Refusal:
        worlds = {"ok": "fine", "other": "elsewhere"}
        return worlds.get(record.header("authorization") or "", Refusal(401, "who are you"))

    async def answer(
        self, exchange: Exchange, route: Route, world: str, fault: Fault | None, now: float
    ) -> None:
        self.answered.append((route, fault, now))
        await exchange.respond(200, world.encode())


async def call(app: Toy, request: Scope) -> tuple[int, bytes, dict[bytes, bytes]]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(request, receive, send)
    start, body = sent
    return start["status"], body["body"], dict(start["headers"])


@pytest.fixture
def parts() -> tuple[Toy, FaultBoard, RequestLog]:
    faults, log = FaultBoard(), RequestLog()
    context = AppContext(FakeClock(), faults, log, Stopping())
    return Toy(context), faults, log


@pytest.mark.anyio
async def test_the_prelude_runs_in_order(parts: tuple[Toy, FaultBoard, RequestLog]) -> None:
    """Unknown paths 404 and other methods 405 (both logged), faults come before auth, and
    the credentials pick the world the answer comes from."""
    app, faults, log = parts
    status, body, headers = await call(app, scope(b"/nope"))
    assert (status, body, headers[b"content-type"]) == (404, b"<nothing here>", b"text/x-toy")
    post = await call(app, scope(b"/api/things", method="POST"))
    assert post[:2] == (405, b"<method not allowed>")
    faults.set("livekit.details", Fault(status=503, count=1))
    unavailable = await call(app, scope(b"/api/things/x", auth=b"bad"))
    assert unavailable[:2] == (503, b"<Service Unavailable>")
    assert (await call(app, scope(b"/api/things/x", auth=b"bad")))[:2] == (401, b"<who are you>")
    assert (await call(app, scope(b"/api/things/")))[:2] == (200, b"fine")
    assert (await call(app, scope(b"/api/things/", auth=b"other")))[:2] == (200, b"elsewhere")
    assert app.answered[:1] == [(Route("livekit.list", None), None, FakeClock.DEFAULT_START)]
    assert [(r.endpoint, r.status, r.outcome, r.fault) for r in log] == [
        ("livekit.unknown", 404, "response", None),
        ("livekit.list", 405, "response", None),
        ("livekit.details", 503, "response", "status 503"),
        ("livekit.details", 401, "response", None),
        ("livekit.list", 200, "response", None),
        ("livekit.list", 200, "response", None),
    ]


@pytest.mark.anyio
async def test_a_body_fault_reaches_the_answer(parts: tuple[Toy, FaultBoard, RequestLog]) -> None:
    """Faults that distort the 200 body are handed to the API's answer."""
    app, faults, _ = parts
    fault = Fault.oversized(1)
    faults.set("livekit.list", fault)
    await call(app, scope(b"/api/things"))
    assert app.answered == [(Route("livekit.list", None), fault, FakeClock.DEFAULT_START)]


@pytest.mark.anyio
async def test_lifespan_messages_are_ignored(parts: tuple[Toy, FaultBoard, RequestLog]) -> None:
    app, _, log = parts

    async def receive() -> Message:
        raise AssertionError("not read")

    async def send(message: Message) -> None:
        raise AssertionError("nothing sent")

    await app({"type": "lifespan"}, receive, send)
    assert len(log) == 0
