"""The two APIs' credential checks: LiveKit's HS256 access tokens and Studio's API keys.

LiveKit verifies a token the way its server-side protocol library does: HS256 signed with
the secret of the API key named in ``iss``, ``exp`` required, ``exp``/``nbf``/``iat``
checked with one minute of leeway, and the Analytics API needs the ``video.roomList`` grant.
Times come from the simulator's clock, not the wall clock, so tests with a fake clock stay
consistent. Studio answers with the messages of its authentication middleware, echo of the
key included. Both checks are called by each app's ``authenticate`` step of the shared
request prelude (:mod:`exporter.simulator.http.fake_api`).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import NamedTuple

import jwt

__all__ = ["TokenRejected", "check_livepeer_key", "livepeer_key", "verify_livekit_token"]

_AUTH_HEADER = re.compile(r"^\s*(\w+)\s+(.+)$", re.DOTALL)


class TokenRejected(Exception):
    """The LiveKit token is missing, malformed, forged, expired or lacks ``roomList``."""


def _number(claims: dict[str, object], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenRejected(f"claim {name} is not a number")
    return float(value)


def verify_livekit_token(
    authorization: str | None, *, api_key: str, api_secret: str, now: float, leeway: float = 60.0
) -> dict[str, object]:
    """The claims of a valid ``Authorization: Bearer <JWT>``; :class:`TokenRejected` else."""
    if not authorization or not authorization.startswith("Bearer "):
        raise TokenRejected("no bearer token")
    token = authorization[len("Bearer ") :].strip()
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise TokenRejected(f"malformed token: {exc}") from None
    if unverified.get("iss") != api_key:
        raise TokenRejected("unknown API key")
    try:
        claims: dict[str, object] = jwt.decode(
            token,
            api_secret,
            algorithms=["HS256"],
            # time claims are checked below against the simulator's clock
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,  # LiveKit ignores audiences
            },
        )
    except jwt.PyJWTError as exc:
        raise TokenRejected(f"invalid token: {exc}") from None
    expiry = _number(claims, "exp")
    if expiry is None:
        raise TokenRejected("token has no exp")
    if now - leeway > expiry:
        raise TokenRejected("token has expired")
    not_before = _number(claims, "nbf")
    if not_before is not None and now + leeway < not_before:
        raise TokenRejected("token is not valid yet")
    issued = _number(claims, "iat")
    if issued is not None and now + leeway < issued:
        raise TokenRejected("token issued in the future")
    video = claims.get("video")
    if not isinstance(video, dict) or video.get("roomList") is not True:
        raise TokenRejected("token lacks the roomList grant")
    return claims


class _Presented(NamedTuple):
    key: str
    user: str | None  # Basic auth's user name; None for a Bearer key


def _presented(authorization: str | None) -> _Presented | tuple[int, str]:
    """The key a Studio ``Authorization`` header presents, or Studio's refusal of it."""
    match = _AUTH_HEADER.match(authorization or "")
    if match is None:
        return 401, "request is not authenticated"
    raw_scheme, token = match.group(1), match.group(2).strip()
    scheme = raw_scheme.lower()
    if scheme == "bearer":
        return _Presented(token, None)
    if scheme == "basic":
        try:
            decoded = base64.b64decode(token, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return 401, "no authorization token provided"
        user, _, key = decoded.partition(":")
        if not key:
            return 401, "no authorization token provided"
        return _Presented(key, user)
    if scheme == "jwt":
        return 401, "jwt malformed"
    return 401, f"unsupported authorization header scheme: {raw_scheme}"


def livepeer_key(authorization: str | None) -> str | None:
    """The API key a Studio ``Authorization`` header presents (Bearer, or Basic's password).

    It only picks the project whose keys :func:`check_livepeer_key` then checks.
    """
    presented = _presented(authorization)
    return presented.key if isinstance(presented, _Presented) else None


def check_livepeer_key(
    authorization: str | None,
    *,
    api_key: str,
    user_id: str,
    cors_key: str | None = None,
    cors_allowed: bool = False,
) -> tuple[int, str] | None:
    """None if the request may go on, else Studio's status and error message.

    A CORS-enabled key is known but may only call a few endpoints (``cors_allowed``):
    ``GET /session/{id}`` is one of them, the session list is not.
    """
    presented = _presented(authorization)
    if not isinstance(presented, _Presented):
        return presented
    key, user = presented
    known = key in (api_key, cors_key)
    if not known or (user is not None and user != user_id):
        return 401, f"no token {key} found"  # upstream echoes the key: never log this body
    if key == cors_key and not cors_allowed:
        return 403, "credential has insufficent privileges"  # sic, Studio's spelling
    return None
