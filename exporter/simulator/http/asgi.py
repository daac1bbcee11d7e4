"""Plain ASGI plumbing for the two simulated APIs: answering, waiting, streaming, hanging up.

No web framework: the apps need exact control over raw paths, header order and bytes on
the wire, and a few things frameworks do not offer. Dropping a connection without any
response is one: ASGI has no message for it, and raising from the app makes uvicorn answer
500. So :meth:`Exchange.drop` reaches the connection's transport through uvicorn's ``send``
(a bound method of its request cycle) and closes it, or aborts it with ``SO_LINGER`` 0 so
the client gets a TCP reset. Waits (latency, hangs, endless bodies) end early when the
client goes away or the simulator stops, so shutdown is prompt.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Iterable
from http import HTTPStatus
from typing import Literal

import anyio
import anyio.lowlevel

from exporter.web.server import Receive, Scope, Send

from .requestlog import RecordedRequest, RequestLog

__all__ = ["Exchange", "Stopping", "record_request", "request_headers", "status_phrase"]

PauseResult = Literal["elapsed", "disconnected", "stopping"]


class Stopping:
    """Set when the simulator shuts down, so hanging requests let go at once."""

    def __init__(self) -> None:
        self._event: anyio.Event | None = None
        self._fired = False

    def arm(self) -> None:
        """Create the event inside the running event loop (``anyio.Event`` needs one)."""
        self._event = anyio.Event()
        self._fired = False

    def fire(self) -> None:
        self._fired = True
        if self._event is not None:
            self._event.set()

    @property
    def fired(self) -> bool:
        return self._fired

    async def wait(self) -> None:
        if self._fired:
            return
        if self._event is None:
            self._event = anyio.Event()
        await self._event.wait()


def status_phrase(status: int) -> str:
    """The reason phrase of ``status``, or "Error" for codes without one (e.g. 599)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def request_headers(scope: Scope) -> tuple[tuple[str, str], ...]:
    """Header names lower-cased and values as sent (latin-1, as HTTP/1.1 allows)."""
    return tuple(
        (bytes(name).decode("latin-1").lower(), bytes(value).decode("latin-1"))
        for name, value in scope.get("headers", ())
    )


def record_request(api: str, endpoint: str, scope: Scope, received_at: float) -> RecordedRequest:
    """The request-log entry of a request as it arrived: raw path, query and headers."""
    return RecordedRequest(
        api=api,
        endpoint=endpoint,
        method=scope["method"],
        raw_path=bytes(scope.get("raw_path") or b"").decode("latin-1"),
        query_string=bytes(scope.get("query_string", b"")).decode("latin-1"),
        headers=request_headers(scope),
        received_at=received_at,
    )


class Exchange:
    """One request and its answer, recorded in the request log as it goes."""

    def __init__(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        record: RecordedRequest,
        log: RequestLog,
        stopping: Stopping,
    ) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self.record = record
        self._log = log
        self._stopping = stopping
        self._disconnected = False

    def _finish(self, outcome: str, status: int | None = None) -> None:
        self.record.outcome = outcome
        self.record.status = status
        self._log.notify()

    async def respond(
        self, status: int, body: bytes, headers: Iterable[tuple[str, str]] = ()
    ) -> None:
        """A complete response with ``Content-Length``."""
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        raw.append((b"content-length", str(len(body)).encode()))
        await self._send({"type": "http.response.start", "status": status, "headers": raw})
        await self._send({"type": "http.response.body", "body": body, "more_body": False})
        self._finish("response", status)

    async def stream(
        self,
        status: int,
        chunks: Iterable[bytes],
        headers: Iterable[tuple[str, str]] = (),
        *,
        content_length: int | None = None,
    ) -> None:
        """A body sent piece by piece (chunked unless ``content_length`` is given)."""
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        if content_length is not None:
            raw.append((b"content-length", str(content_length).encode()))
        await self._send({"type": "http.response.start", "status": status, "headers": raw})
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._watch, tg.cancel_scope)
            for chunk in chunks:
                await self._send({"type": "http.response.body", "body": chunk, "more_body": True})
                await anyio.lowlevel.checkpoint()
            await self._send({"type": "http.response.body", "body": b"", "more_body": False})
            tg.cancel_scope.cancel()
        if self._disconnected or self._stopping.fired:
            if self._stopping.fired:
                self._abort(reset=True)
            self._finish("abandoned", status)
        else:
            self._finish("response", status)

    async def pause(self, seconds: float | None) -> PauseResult:
        """Wait ``seconds`` (None: forever) unless the client leaves or the simulator stops."""
        result: PauseResult = "elapsed"
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._watch, tg.cancel_scope)
            if seconds is None:
                await anyio.sleep_forever()
            else:
                await anyio.sleep(seconds)
            tg.cancel_scope.cancel()
        if self._stopping.fired:
            result = "stopping"
        elif self._disconnected:
            result = "disconnected"
        return result

    async def _watch(self, scope: anyio.CancelScope) -> None:
        """Cancel ``scope`` when the client disconnects or the simulator stops."""
        async with anyio.create_task_group() as tg:

            async def client() -> None:
                while (await self._receive())["type"] != "http.disconnect":
                    pass
                self._disconnected = True
                tg.cancel_scope.cancel()

            async def simulator() -> None:
                await self._stopping.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(client)
            tg.start_soon(simulator)
        scope.cancel()

    async def abandon(self) -> None:
        """Give up on a request whose client left or whose simulator stops."""
        if self._stopping.fired:
            await self.drop(reset=True, outcome="abandoned")
        else:
            self._finish("abandoned")

    async def drop(self, *, reset: bool, outcome: str | None = None) -> None:
        """End the connection without a response: a TCP reset, or a plain close."""
        self._abort(reset=reset)
        self._finish(outcome or ("reset" if reset else "closed"))
        # let uvicorn see the connection go, so it does not try to answer 500 on it
        with anyio.move_on_after(1):
            while not self._disconnected:
                if (await self._receive())["type"] == "http.disconnect":
                    self._disconnected = True

    def _abort(self, *, reset: bool) -> None:
        transport = getattr(getattr(self._send, "__self__", None), "transport", None)
        if not isinstance(transport, asyncio.Transport):
            raise RuntimeError("cannot reach the connection: not served by uvicorn's h11")
        if reset:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                # the client or a stopping simulator may have closed it already
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            transport.close()
