"""Logging: JSON lines with ISO UTC timestamps, level filtering, and the redaction safety net."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from urllib.parse import quote, quote_plus

import pytest
import structlog

from exporter.logs import MASK, Redactor, configure_logging, get_logger

SECRET = "lk-secret-0123456789abcdef"


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    yield
    structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_timestamp_level_and_event() -> None:
    """Each JSON line has an ISO-8601 UTC timestamp, the level and a snake_case event."""
    out = io.StringIO()
    configure_logging("info", "json", Redactor(), out)
    get_logger(source="livekit_cloud").info("poll_succeeded", sessions=3)
    (entry,) = lines(out)
    assert entry["event"] == "poll_succeeded"
    assert entry["level"] == "info"
    assert entry["source"] == "livekit_cloud"
    assert isinstance(entry["timestamp"], str)
    assert entry["timestamp"].endswith("Z")
    assert "T" in entry["timestamp"]


def test_level_filters_lower_levels() -> None:
    """At warning level, info and debug lines are dropped."""
    out = io.StringIO()
    configure_logging("warning", "json", Redactor(), out)
    log = get_logger()
    log.debug("a")
    log.info("b")
    log.warning("c")
    log.error("d")
    assert [e["event"] for e in lines(out)] == ["c", "d"]


def test_auto_is_json_off_a_terminal() -> None:
    """auto picks JSON when stderr is not a TTY (containers, CI)."""
    out = io.StringIO()
    configure_logging("info", "auto", Redactor(), out)
    get_logger().info("x")
    assert lines(out)[0]["event"] == "x"


def test_redactor_masks_known_values_and_credential_keys() -> None:
    """Registered secrets are masked anywhere; credential-named keys are masked whole."""
    out = io.StringIO()
    redactor = Redactor([SECRET, "short"])
    redactor.add("eyJhbGciOiJIUzI1NiJ9.minted.token")
    configure_logging("debug", "json", redactor, out)
    get_logger().info(
        "oops",
        detail=f"body said no token {SECRET} found",
        nested={"list": [f"Bearer eyJhbGciOiJIUzI1NiJ9.minted.token {SECRET}"]},
        authorization="Bearer abc",
        parent_stream={"streamKey": "sk"},
        note="short stays",
    )
    (entry,) = lines(out)
    text = json.dumps(entry)
    assert SECRET not in text
    assert "minted.token" not in text
    assert entry["detail"] == f"body said no token {MASK} found"
    assert entry["authorization"] == MASK
    assert entry["parent_stream"] == MASK
    assert entry["note"] == "short stays"


def test_the_redactor_masks_escaped_and_url_encoded_forms() -> None:
    """An exception's text shows a value through repr, a URL percent-encoded: both masked."""
    secret = "s3cr3t+/value with\ttab"
    redactor = Redactor([secret])
    for shown in (
        secret,
        repr(secret),
        repr(secret.encode()),
        "https://x.invalid/?key=" + quote(secret, safe=""),
        "key=" + quote_plus(secret),
    ):
        masked = redactor.text(f"error: {shown}")
        assert "s3cr3t" not in masked, shown
        assert MASK in masked
