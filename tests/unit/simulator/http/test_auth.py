"""Credential checks: LiveKit tokens against the simulator's clock, Studio keys and messages."""

from __future__ import annotations

import base64

import jwt
import pytest

from exporter.simulator.http.auth import (
    TokenRejected,
    check_livepeer_key,
    livepeer_key,
    verify_livekit_token,
)

KEY = "APIsimulatedkey"
SECRET = "s" * 40
NOW = 1_768_478_400.0


def token(secret: str = SECRET, algorithm: str = "HS256", **claims: object) -> str:
    body: dict[str, object] = {
        "iss": KEY,
        "sub": "livesession-exporter",
        "nbf": int(NOW) - 5,
        "exp": int(NOW) + 600,
        "video": {"roomList": True},
    }
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, secret, algorithm=algorithm)


def verify(header: str | None, now: float = NOW) -> dict[str, object]:
    return verify_livekit_token(header, api_key=KEY, api_secret=SECRET, now=now)


def test_a_valid_token_is_accepted() -> None:
    """A roomList token signed with the secret, within its lifetime, passes."""
    assert verify(f"Bearer {token()}")["sub"] == "livesession-exporter"


def test_time_claims_use_the_given_clock_with_a_minute_of_leeway() -> None:
    """``exp`` and ``nbf`` are checked against ``now`` with 60 s of leeway, like LiveKit."""
    assert verify(f"Bearer {token()}", now=NOW + 600 + 59)
    with pytest.raises(TokenRejected, match="expired"):
        verify(f"Bearer {token()}", now=NOW + 600 + 61)
    with pytest.raises(TokenRejected, match="not valid yet"):
        verify(f"Bearer {token(nbf=int(NOW) + 120)}")
    with pytest.raises(TokenRejected, match="future"):
        verify(f"Bearer {token(iat=int(NOW) + 120)}")


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "no bearer"),
        ("Basic abc", "no bearer"),
        ("Bearer not-a-jwt", "malformed"),
        (f"Bearer {token(iss='APIother')}", "unknown API key"),
        (f"Bearer {token(secret='w' * 40)}", "invalid token"),
        (f"Bearer {token(exp=None)}", "no exp"),
        (f"Bearer {token(exp='soon')}", "not a number"),
        (f"Bearer {token(video={'roomJoin': True})}", "roomList"),
        (f"Bearer {token(video={'roomList': 'yes'})}", "roomList"),
        (f"Bearer {token(secret='w' * 48, algorithm='HS384')}", "invalid token"),
        (
            "Bearer " + jwt.encode({"iss": KEY, "exp": int(NOW) + 60}, "", algorithm="none"),
            "invalid",
        ),
    ],
)
def test_bad_tokens_are_rejected(header: str | None, reason: str) -> None:
    """Missing, malformed, forged, foreign, grant-less or unsigned tokens are rejected."""
    with pytest.raises(TokenRejected, match=reason):
        verify(header)


def basic(user: str, key: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer good", None),
        ("bearer   good  ", None),
        (basic("USER", "good"), None),
        (None, (401, "request is not authenticated")),
        ("Bearer", (401, "request is not authenticated")),
        ("Bearer wrong-key", (401, "no token wrong-key found")),
        (basic("someone-else", "good"), (401, "no token good found")),
        ("Basic !!!", (401, "no authorization token provided")),
        ("Token good", (401, "unsupported authorization header scheme: Token")),
        ("JWT abc", (401, "jwt malformed")),
        ("Bearer cors", (403, "credential has insufficent privileges")),
    ],
)
def test_studio_key_checks_answer_with_studios_messages(
    header: str | None, expected: tuple[int, str] | None
) -> None:
    """Studio accepts Bearer and Basic keys, refuses others with its own messages."""
    assert check_livepeer_key(header, api_key="good", user_id="USER", cors_key="cors") == expected


def test_cors_keys_may_read_single_sessions() -> None:
    """A CORS key passes where Studio allows it (``GET /session/{id}``)."""
    assert (
        check_livepeer_key(
            "Bearer cors", api_key="k", user_id="U", cors_key="cors", cors_allowed=True
        )
        is None
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Bearer good", "good"),
        ("bearer   good  ", "good"),
        (basic("USER", "good"), "good"),
        (None, None),
        ("Bearer", None),
        ("Basic !!!", None),
        ("Token good", None),
        ("JWT abc", None),
    ],
)
def test_the_presented_studio_key_picks_the_project(
    header: str | None, expected: str | None
) -> None:
    """The key of a Bearer or Basic header, which selects the project to check it against."""
    assert livepeer_key(header) == expected
