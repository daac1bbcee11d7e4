"""The outermost ASGI layer of ``--web.config.file``: rate limit, headers, basic auth.

The toolkit's ``webHandler.ServeHTTP``, request for request, so a file written for a Go exporter
behaves the same here. Each HTTP request, whatever its path or method:

1. reads the configuration afresh (the caller's stat-cached loader); an unreadable file is a
   500 without the configured headers, since the file is what names them;
2. takes a token from the rate limiter, if there is one: 429 when empty;
3. adds the configured headers to whatever is answered from here on, 401 and 429 included;
4. with users configured, checks the ``Authorization`` header: 401 unless it passes.

The one divergence is deliberate (the contract's): Go writes its 429 before setting the
headers, we put them on the 429 too. Only the request line and headers are looked at; the
body is left to the inner app. With no limiter, users or headers, a request costs one call
of ``current()`` and a few tests, because the scrape path is meant to be a byte copy.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Final

from structlog.typing import FilteringBoundLogger

from exporter.web.security.auth import BasicAuth, RateLimiter
from exporter.web.security.schema import WebConfig, WebConfigError
from exporter.web.server import ASGIApp, Message, Receive, Scope, Send

__all__ = ["SecuredApp", "basic_credentials"]

Headers = list[tuple[bytes, bytes]]

_TEXT: Final = (b"content-type", b"text/plain; charset=utf-8")
_NOSNIFF: Final = (b"x-content-type-options", b"nosniff")
_CHALLENGE: Final = (b"www-authenticate", b"Basic")
_ERROR: Final = b"Internal Server Error\n"
_LIMITED: Final = b"Too Many Requests\n"
_UNAUTHORIZED: Final = b"Unauthorized\n"
_BASIC: Final = b"basic "


def basic_credentials(authorization: bytes) -> tuple[bytes, bytes] | None:
    """``(user, password)`` from an ``Authorization`` value, or None, as Go's ``BasicAuth()``.

    The scheme is case-insensitive, the base64 strict (padding required, no stray characters),
    and the split is at the first colon, so a password may contain colons but a user may not.
    """
    if authorization[: len(_BASIC)].lower() != _BASIC:
        return None
    try:
        decoded = base64.b64decode(authorization[len(_BASIC) :], validate=True)
    except binascii.Error:
        return None
    user, colon, password = decoded.partition(b":")
    if not colon:
        return None
    return user, password


class SecuredApp:
    """Wraps the exporter's app in the web configuration's rate limit, headers and basic auth.

    ``current`` returns the configuration in force (raising ``WebConfigError`` when the file
    has become invalid; logging that once is the loader's job). ``limiter`` is built once at
    start, as Go builds its limiter once: a reload does not change the rate limit.
    """

    def __init__(
        self,
        app: ASGIApp,
        current: Callable[[], WebConfig],
        limiter: RateLimiter | None,
        auth: BasicAuth,
        log: FilteringBoundLogger,
    ) -> None:
        self._app = app
        self._current = current
        self._limiter = limiter
        self._auth = auth
        self._log = log
        self._refused = 0
        self._headers_source: Mapping[str, str] | None = None
        self._headers: Headers = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # Lifespan carries no request. Anything else (a websocket) is dropped unseen, so
            # no kind of connection can reach the app without passing the checks below;
            # uvicorn answers an unaccepted websocket with 403.
            if scope["type"] == "lifespan":
                await self._app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        try:
            config = self._current()
        except WebConfigError:
            await _reply(send, 500, _ERROR, [_TEXT, _NOSNIFF], head=head)
            return
        extra = self._configured(config.http.headers)
        if self._limiter is not None and not self._allowed(self._limiter):
            await _reply(send, 429, _LIMITED, _merged(extra, [_TEXT, _NOSNIFF]), head=head)
            return
        if config.users and not await self._authenticated(scope, config.users):
            fixed = [_CHALLENGE, _TEXT, _NOSNIFF]
            await _reply(send, 401, _UNAUTHORIZED, _merged(extra, fixed), head=head)
            return
        await self._app(scope, receive, _adding(send, extra) if extra else send)

    def _allowed(self, limiter: RateLimiter) -> bool:
        if limiter.allow():
            return True
        # A line at the 1st, 2nd, 4th, 8th... refusal: an operator learns why Prometheus sees
        # 429, and a flood writes a few dozen lines, not one per request.
        self._refused += 1
        if self._refused & (self._refused - 1) == 0:
            self._log.warning("web_rate_limited", status=429, refused_total=self._refused)
        return False

    async def _authenticated(self, scope: Scope, users: Mapping[str, str]) -> bool:
        authorization = next(
            (value for name, value in scope["headers"] if name.lower() == b"authorization"),
            None,
        )
        credentials = None if authorization is None else basic_credentials(authorization)
        if credentials is None:
            return False
        return await self._auth.check(users, *credentials)

    def _configured(self, headers: Mapping[str, str]) -> Headers:
        # Encoded once per configuration: the loader hands out the same mapping until the
        # file changes, and the reference kept here stops its id from being reused.
        if headers is not self._headers_source:
            self._headers = _encoded(headers)
            self._headers_source = headers
        return self._headers


def _encoded(headers: Mapping[str, str]) -> Headers:
    """The configured headers as ASGI pairs; blank values are left out, as the docs intend.

    Go sends a blank header empty; its documentation says "unset if blank", which is what an
    operator means by it. Line breaks become spaces, as Go's server writes them, so a stray
    newline in the file cannot split a response.
    """
    encoded: Headers = []
    for name, value in headers.items():
        flat = value.replace("\r", " ").replace("\n", " ")
        if flat.strip():
            encoded.append((name.lower().encode("latin-1"), flat.encode()))
    return encoded


def _merged(configured: Headers, fixed: Headers) -> Headers:
    """Configured headers then the reply's own, which win on a clash (Go's ``Header.Set``)."""
    names = {name for name, _ in fixed}
    return [pair for pair in configured if pair[0] not in names] + fixed


def _adding(send: Send, extra: Headers) -> Send:
    """``send`` with ``extra`` added to the response start, unless the app set that header.

    Go sets the configured headers before calling the handler, which may overwrite them; the
    same precedence here means a header the app chose itself is never doubled.
    """

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            own: Headers = list(message.get("headers", ()))
            names = {name.lower() for name, _ in own}
            own.extend(pair for pair in extra if pair[0] not in names)
            message = {**message, "headers": own}
        await send(message)

    return sending


async def _reply(send: Send, status: int, body: bytes, headers: Headers, *, head: bool) -> None:
    length = (b"content-length", str(len(body)).encode())
    await send({"type": "http.response.start", "status": status, "headers": [*headers, length]})
    await send({"type": "http.response.body", "body": b"" if head else body})
