"""No secret ever leaves the exporter: not in logs at debug level, the exposition, the landing
page, health answers, ``--once`` output or configuration errors.

The exporter runs at ``--log.level debug`` against the simulator while every kind of upstream
failure is switched on in turn, with error bodies that echo the credentials back (as Studio's
401 does with the key) and list bodies that carry ``parentStream.streamKey``. Afterwards every
text it produced is searched for the LiveKit API secret, every token it minted (taken from the
``Authorization`` headers the simulator received), the Livepeer API key and every stream key of
the simulated world. Self-checks make sure the search means something: the needles exist and
are real, every failure really happened, and debug lines really were written.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from exporter.logs import MASK
from exporter.simulator import Fault, FaultAction, SimulatorConfig
from exporter.simulator.simulator import Simulator
from tests.support.processes import (
    ROOT,
    ExporterProcess,
    clean_env,
    running_simulator,
    simulator_env,
    wait_for,
)

OPENMETRICS = "application/openmetrics-text; version=1.0.0"
_PLAIN = re.compile(r"[A-Za-z0-9._~-]+")
"""Needles are written in characters no JSON, HTML, URL or exposition escaping changes, so a
plain substring search finds them in any of those outputs."""
LIVEKIT = "livekit_cloud"
LIVEPEER = "livepeer_studio"


@dataclass(frozen=True)
class Step:
    """Faults to switch on, and the poll outcome each source must reach because of them."""

    name: str
    faults: Callable[[Echo], Mapping[str, Fault]]
    failures: Mapping[str, str] = field(default_factory=dict)
    """source → the ``reason`` of the poll that fails."""
    warnings: tuple[str, ...] = ()
    """Log events of a poll that succeeds with records skipped."""


@dataclass(frozen=True)
class Echo:
    """Error bodies that repeat the credentials the request carried, as careless APIs do."""

    secret: str
    token: str
    key: str
    stream_key: str

    def text(self, status: int) -> bytes:
        return (
            f"{status}: no token {self.key} found; bearer {self.token}; "
            f"signed with {self.secret}; stream {self.stream_key}\n"
        ).encode()

    def json(self, status: int) -> bytes:
        return (
            f'{{"errors": ["no token {self.key} found", "stream key {self.stream_key}",'
            f' "status {status}"]}}'
        ).encode()

    def scale_plan(self) -> bytes:
        return b"scale plan or higher is required; " + self.text(403)


def both(action: FaultAction) -> Callable[[Echo], Mapping[str, Fault]]:
    return lambda _: {
        "livekit.list": Fault(action, count=1),
        "livepeer.list": Fault(action, count=1),
    }


STEPS = (
    Step(
        "401 echoing the credentials",
        lambda e: {
            # a 401 re-mints the token and retries once: two in a row fail the poll
            "livekit.list": Fault(status=401, body=e.text(401), count=2),
            "livepeer.list": Fault(status=401, body=e.json(401), count=1),
        },
        {LIVEKIT: "auth", LIVEPEER: "auth"},
    ),
    Step(
        "403: plan below Scale, CORS key",
        lambda e: {
            "livekit.list": Fault(status=403, body=e.scale_plan(), count=1),
            "livepeer.list": Fault(status=403, body=e.json(403), count=1),
        },
        {LIVEKIT: "auth", LIVEPEER: "auth"},
    ),
    Step(
        "429 with Retry-After",
        lambda e: {
            "livekit.list": Fault(status=429, retry_after=1, body=e.text(429), count=1),
            "livepeer.list": Fault(status=429, retry_after=1, body=e.json(429), count=1),
        },
        {LIVEKIT: "rate_limited", LIVEPEER: "rate_limited"},
    ),
    Step(
        "5xx echoing the credentials",
        lambda e: {
            "livekit.list": Fault(status=500, body=e.text(500), count=1),
            "livepeer.list": Fault(status=503, body=e.json(503), count=1),
        },
        {LIVEKIT: "server_error", LIVEPEER: "server_error"},
    ),
    Step(
        "other 4xx echoing the credentials",
        lambda e: {
            "livekit.list": Fault(status=400, body=e.text(400), count=1),
            "livepeer.list": Fault(status=422, body=e.json(422), count=1),
        },
        {LIVEKIT: "client_error", LIVEPEER: "client_error"},
    ),
    Step(
        "details 5xx echoing the credentials",
        lambda e: {"livekit.details": Fault(status=502, body=e.text(502), count=1)},
        {LIVEKIT: "server_error"},
    ),
    Step(
        "invalid JSON",
        both(FaultAction.INVALID_JSON),
        {LIVEKIT: "invalid_response", LIVEPEER: "invalid_response"},
    ),
    Step(
        "invalid JSON from details",
        lambda _: {"livekit.details": Fault(FaultAction.INVALID_JSON, count=1)},
        {LIVEKIT: "invalid_response"},
    ),
    Step(
        "wrong top-level shape",
        both(FaultAction.WRONG_SHAPE),
        {LIVEKIT: "invalid_response", LIVEPEER: "invalid_response"},
    ),
    Step(
        "oversized body",
        lambda _: {
            "livekit.list": Fault.oversized(33, count=1),
            "livepeer.list": Fault.oversized(33, count=1),
        },
        {LIVEKIT: "invalid_response", LIVEPEER: "invalid_response"},
    ),
    Step(
        "hang past the timeout", both(FaultAction.HANG), {LIVEKIT: "timeout", LIVEPEER: "timeout"}
    ),
    Step(
        "connection reset",
        both(FaultAction.RESET),
        {LIVEKIT: "connection", LIVEPEER: "connection"},
    ),
    Step(
        "connection closed",
        both(FaultAction.CLOSE),
        {LIVEKIT: "connection", LIVEPEER: "connection"},
    ),
    Step(
        "one malformed record among good ones",
        lambda _: {
            "livekit.list": Fault(FaultAction.MALFORMED_RECORD, count=1),
            "livekit.details": Fault(FaultAction.MALFORMED_RECORD, count=1),
            "livepeer.list": Fault(FaultAction.MALFORMED_RECORD, count=1),
        },
        warnings=("livekit_records_invalid", "livekit_details_invalid", "livepeer_records_invalid"),
    ),
)


def tokens_sent(sim: Simulator) -> set[str]:
    """Every bearer token the exporter sent to the simulated LiveKit API."""
    found = set()
    for record in sim.log:
        header = record.header("authorization")
        if record.api == "livekit" and header is not None:
            found.add(header.removeprefix("Bearer "))
    return found


def latest_token(sim: Simulator) -> str:
    """The bearer token of the last LiveKit request: the one the next request carries."""
    for record in reversed(sim.log.records):
        header = record.header("authorization")
        if record.api == "livekit" and header is not None:
            return header.removeprefix("Bearer ")
    raise AssertionError("no LiveKit request yet")


def stream_keys(sim: Simulator) -> set[str]:
    """Every stream key of the simulated Studio project (served in ``parentStream``)."""
    keys = {stream.stream_key for stream in sim.livepeer.streams}
    return keys | {truth.stream.stream_key for truth in sim.livepeer.sessions()}


def needles(secret: str, key: str, tokens: set[str], keys: set[str]) -> dict[str, str]:
    """What must never appear, by a description that names it without showing it; each token
    also by its signature alone, the part only the secret could have made."""
    found = {"LiveKit API secret": secret, "Livepeer API key": key}
    for index, token in enumerate(sorted(tokens)):
        found[f"minted token #{index}"] = token
        found[f"signature of minted token #{index}"] = token.rsplit(".", 1)[1]
    for index, stream_key in enumerate(sorted(keys)):
        found[f"stream key #{index}"] = stream_key
    for what, value in found.items():
        assert len(value) >= 16, f"{what} is too short to search for"
        assert _PLAIN.fullmatch(value), f"{what} has characters an encoder could rewrite"
    return found


def assert_absent(texts: Mapping[str, str], secrets: Mapping[str, str]) -> None:
    leaks = [
        f"{what} in {where}"
        for where, text in texts.items()
        for what, value in secrets.items()
        if value in text
    ]
    assert leaks == []


def happened(step: Step, events: Sequence[dict[str, Any]]) -> bool:
    """Whether each source's poll failed with the step's reason (or logged the step's warning)
    and a later poll of that source succeeded, so the next step starts from a good state."""
    for source, reason in step.failures.items():
        failed = next(
            (
                i
                for i, e in enumerate(events)
                if e["event"] == "poll_failed" and (e["source"], e["reason"]) == (source, reason)
            ),
            None,
        )
        if failed is None or not any(
            e["event"] == "poll_succeeded" and e["source"] == source for e in events[failed:]
        ):
            return False
    for warning in step.warnings:
        logged = next((i for i, e in enumerate(events) if e["event"] == warning), None)
        if logged is None or not any(e["event"] == "poll_succeeded" for e in events[logged:]):
            return False
    return True


def gzipped(client: httpx.Client, url: str) -> str:
    """The exposition as sent gzip-compressed (httpx inflates it)."""
    response = client.get(url, headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    return response.text


def step_done(exporter: ExporterProcess, step: Step, mark: int) -> bool:
    return happened(step, exporter.events()[mark:])


@dataclass(frozen=True)
class Outputs:
    """Everything one exporter run showed the world, and what must not be in it."""

    texts: dict[str, str]
    secrets: dict[str, str]
    events: list[dict[str, Any]]


@pytest.fixture(scope="module")
def outputs() -> Outputs:
    """An exporter at debug level driven through success and every failure step."""
    config = SimulatorConfig(livekit_sessions=12, livepeer_sessions=8, active_fraction=1.0)
    with running_simulator(config) as sim:
        endpoints = sim.endpoints
        assert endpoints is not None
        args = [
            "--log.level=debug",
            "--poll.interval=400ms",
            "--poll.timeout=1s",
            # a budget below the active sessions: details are rationed, a debug line each poll
            "--livekit.requests-per-minute=600",
        ]
        with ExporterProcess(args, simulator_env(endpoints)) as exporter:
            wait_for(
                lambda: (
                    {e["source"] for e in exporter.events("poll_succeeded")} == {LIVEKIT, LIVEPEER}
                ),
                within=30,
                what="a first successful poll of both sources",
            )
            keys = sorted(stream_keys(sim))
            for index, step in enumerate(STEPS):
                echo = Echo(
                    endpoints.livekit_api_secret,
                    latest_token(sim),
                    endpoints.livepeer_api_key,
                    keys[index % len(keys)],
                )
                mark = len(exporter.events())
                for endpoint, fault in step.faults(echo).items():
                    sim.faults.set(endpoint, fault)
                wait_for(
                    partial(step_done, exporter, step, mark),
                    within=30,
                    what=f"step {step.name!r}: {dict(step.failures)} {step.warnings}",
                )
                sim.faults.clear()
            base = exporter.base
            with httpx.Client(timeout=10) as client:
                pages = {
                    "/metrics (text)": client.get(exporter.url).text,
                    "/metrics (OpenMetrics)": client.get(
                        exporter.url, headers={"accept": OPENMETRICS}
                    ).text,
                    "/metrics (gzip)": gzipped(client, exporter.url),
                    "/": client.get(base).text,
                    "/healthz": client.get(base + "healthz").text,
                    "/readyz": client.get(base + "readyz").text,
                    "an unknown path": client.get(base + "nope").text,
                }
            assert exporter.terminate() == 0
            exporter.kill()  # joins the reader: stderr is complete
            texts = {"stderr": exporter.stderr, **pages}
            events = exporter.events()
        secrets = needles(
            endpoints.livekit_api_secret,
            endpoints.livepeer_api_key,
            tokens_sent(sim),
            stream_keys(sim),
        )
        minted = tokens_sent(sim)
    for token in minted:  # really tokens the exporter minted with the secret
        claims = jwt.decode(
            token,
            endpoints.livekit_api_secret,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_nbf": False},
        )
        assert claims["iss"] == endpoints.livekit_api_key
    assert minted
    return Outputs(texts, secrets, events)


def test_nothing_secret_in_logs_exposition_or_pages(outputs: Outputs) -> None:
    """Secret, tokens, key and stream keys appear in no log line and no HTTP answer."""
    assert_absent(outputs.texts, outputs.secrets)


def test_no_secret_even_reached_the_redactor(outputs: Outputs) -> None:
    """The redactor is the second line of defence: it never had anything to mask."""
    assert MASK not in outputs.texts["stderr"]


def test_the_run_went_through_every_failure_at_debug_level(outputs: Outputs) -> None:
    """The searched texts mean something: debug lines, every failure reason, real pages."""
    events = outputs.events
    levels = {e["level"] for e in events}
    assert "debug" in levels
    reasons = {(e["source"], e["reason"]) for e in events if e["event"] == "poll_failed"}
    expected = {(source, reason) for step in STEPS for source, reason in step.failures.items()}
    assert expected <= reasons
    assert all(reason != "internal" for _, reason in reasons)
    assert not [e for e in events if e["event"] == "poll_crashed"]
    assert {"livekit_plan_required", "livepeer_key_forbidden"} <= {e["event"] for e in events}
    assert "livesession_exporter_source_up" in outputs.texts["/metrics (text)"]
    assert "livekit_cloud_session_participants_active" in outputs.texts["/metrics (OpenMetrics)"]
    assert "livepeer_studio" in outputs.texts["/"]


def test_once_with_rejected_credentials_prints_no_secret() -> None:
    """--once with credentials the APIs refuse (Studio's 401 echoes the key) exits 1, and
    neither its exposition nor its debug log shows the secret, a token or the key."""
    secret = "lk-wrong-secret-" + os.urandom(16).hex()
    key = "lp-wrong-key-" + os.urandom(16).hex()
    with running_simulator(SimulatorConfig(livekit_sessions=2, livepeer_sessions=2)) as sim:
        assert sim.endpoints is not None
        env = {
            **simulator_env(sim.endpoints),
            "LIVEKIT_API_SECRET": secret,
            "LIVEPEER_API_KEY": key,
        }
        result = subprocess.run(
            [sys.executable, "-m", "exporter", "--once", "--log.level=debug", "--log.format=json"],
            capture_output=True,
            text=True,
            env=clean_env(env),
            timeout=60,
            check=False,
            cwd=ROOT,
        )
        refused = [r.status for r in sim.log]
        minted = tokens_sent(sim)
    assert result.returncode == 1, result.stderr
    assert refused
    assert set(refused) == {401}
    assert 'reason="auth"' in result.stdout
    assert minted
    secrets = needles(secret, key, minted, set())
    assert_absent({"stdout": result.stdout, "stderr": result.stderr}, secrets)


def config_error(args: Sequence[str], env: Mapping[str, str]) -> str:
    """Run with an invalid configuration: exit 2; the output (stdout and stderr)."""
    result = subprocess.run(
        [sys.executable, "-m", "exporter", "--log.level=debug", *args],
        capture_output=True,
        text=True,
        env=clean_env(env),
        timeout=30,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("livesession-exporter: invalid configuration:\n")
    return result.stdout + result.stderr


def test_configuration_errors_never_echo_a_secret(tmp_path: Path) -> None:
    """Valid secrets (files or environment) beside bad flags, partial credentials, secrets
    given as flags, and unreadable secret files: exit 2, every problem named, no secret."""
    secret = "lk-secret-" + os.urandom(16).hex()
    key = "lp-key-" + os.urandom(16).hex()
    secret_file = tmp_path / "livekit-secret"
    secret_file.write_text(f"  {secret}\n")
    key_file = tmp_path / "livepeer-key"
    key_file.write_text(f"{key}\n\n")
    binary_file = tmp_path / "not-utf8"
    binary_file.write_bytes(secret.encode() + b"\xff\xfe" + key.encode())
    livekit = {"LIVEKIT_PROJECT_ID": "p_x", "LIVEKIT_API_KEY": "APIx"}
    outputs = {
        "valid secret files, bad flags": config_error(
            ["--poll.timeout=soon", "--livekit.page-size=0"],
            {
                **livekit,
                "LIVEKIT_API_SECRET_FILE": str(secret_file),
                "LIVEPEER_API_KEY_FILE": str(key_file),
                "LIVESESSION_LOG_LEVEL": "loud",
            },
        ),
        "secrets in the environment, partial credentials": config_error(
            ["--livepeer.page-size=5000"],
            {"LIVEKIT_API_SECRET": secret, "LIVEPEER_API_KEY": key},
        ),
        "secrets given as flags": config_error(
            [f"--livekit.api-secret={secret}", "--livepeer.api-key", key],
            {**livekit, "LIVEKIT_API_SECRET": secret},
        ),
        "a secret file that is not UTF-8": config_error(
            ["--livepeer.api-key-file", str(binary_file)],
            {**livekit, "LIVEKIT_API_SECRET_FILE": str(binary_file)},
        ),
    }
    for what, output in outputs.items():
        assert len(output.splitlines()) >= 3, f"{what}: {output}"
    assert "--poll.timeout" in outputs["valid secret files, bad flags"]
    assert "partly configured" in outputs["secrets in the environment, partial credentials"]
    assert "not UTF-8" in outputs["a secret file that is not UTF-8"]
    assert_absent(outputs, {"LiveKit API secret": secret, "Livepeer API key": key})
