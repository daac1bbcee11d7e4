"""``--config.check`` through ``exporter.cli.main`` (targets.md, "The file"): load and validate
as a start would, secrets read included; print the targets (exit 0) or every problem (exit 2);
never a secret; no network, nothing started."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path
from typing import NoReturn

import pytest

from exporter import cli
from exporter.cli import main

LK_SECRET = "check-livekit-secret-0123456789abcdef"
LP_KEY = "check-livepeer-key-0123456789abcdef"
LP_KEY_2 = "check-livepeer-key-two-0123456789abcdef"
ENV = {"LK_US": LK_SECRET, "LP_TWO": LP_KEY_2}


def digest(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:16]


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A check starts nothing and connects nowhere: either would fail the test."""

    def refuse(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("--config.check must not start the exporter or use the network")

    monkeypatch.setattr(cli, "run", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def valid_file(tmp_path: Path) -> Path:
    (tmp_path / "lk-eu").write_text(f"{LK_SECRET}\n")
    (tmp_path / "lp-main").write_text(f"{LP_KEY}\n")
    path = tmp_path / "targets.yaml"
    path.write_text(
        f"""\
defaults:
  livekit:
    poll_interval: 60s
livekit:
  - name: prod-eu
    project_id: p_eu
    api_key: APIeu
    api_secret_file: {tmp_path}/lk-eu
  - name: prod-us
    project_id: p_us
    api_key: APIus
    api_secret_env: LK_US
    poll_interval: 15s
    enabled: false
livepeer:
  - name: studio-main
    api_key_file: {tmp_path}/lp-main
  - name: studio-two
    api_key_env: LP_TWO
    poll_interval: 1m30s
"""
    )
    return path


def spellings(seconds: int) -> set[str]:
    """How a report may print an interval: 90s, 90, 1m30s (Prometheus), 1m0s (Go)."""
    minutes, rest = divmod(seconds, 60)
    spelled = {f"{seconds}s", str(seconds)}
    if minutes:
        spelled.add(f"{minutes}m{rest}s")
    if minutes and not rest:
        spelled.add(f"{minutes}m")
    return spelled


def shows(line: str, *words: str, interval: int) -> bool:
    """Whether ``line`` holds every word and the interval, in any of its spellings."""
    found = set(line.replace("=", " ").split())
    return set(words) <= found and bool(spellings(interval) & found)


def target_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if "prod-" in line or "studio-" in line]


def test_valid_file_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A valid file is a success, with nothing on stderr."""
    assert main(["--config.check", "--config.file", str(valid_file(tmp_path))], ENV) == 0
    assert capsys.readouterr().err == ""


def test_valid_file_prints_one_line_per_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each target, disabled ones included, is one line with source, name, identity and
    effective interval (its own key, else defaults, else --poll.interval)."""
    argv = ["--config.check", "--config.file", str(valid_file(tmp_path)), "--poll.interval=45s"]
    assert main(argv, ENV) == 0
    lines = target_lines(capsys.readouterr().out)
    expected = [
        ("livekit_cloud", "prod-eu", "p_eu", 60),
        ("livekit_cloud", "prod-us", "p_us", 15),
        ("livepeer_studio", "studio-main", digest(LP_KEY), 45),
        ("livepeer_studio", "studio-two", digest(LP_KEY_2), 90),
    ]
    assert len(lines) == len(expected), lines
    for line, (source, name, identity, interval) in zip(lines, expected, strict=True):
        assert shows(line, source, name, identity, interval=interval), line


def test_check_output_has_no_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Neither the secrets nor the keys read appear in the report."""
    main(["--config.check", "--config.file", str(valid_file(tmp_path))], ENV)
    out, err = capsys.readouterr()
    for secret in (LK_SECRET, LP_KEY, LP_KEY_2):
        assert secret not in out + err


def test_invalid_file_exits_2_with_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every problem of the file goes to stderr at once, nothing to stdout, exit 2."""
    path = valid_file(tmp_path)
    text = path.read_text().replace("    api_key: APIus\n", "    api_key: APIus\n    colour: x\n")
    text = text.replace("poll_interval: 15s", "poll_interval: 15")
    path.write_text(text + "    lookback_days: 2\n")
    (tmp_path / "lk-eu").write_text("  \n")
    assert main(["--config.check", "--config.file", str(path)], ENV) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = path.read_text().splitlines()
    for needle in ("api_secret_file", "colour", "poll_interval: 15", "lookback_days"):
        line = next(n for n, text in enumerate(lines, 1) if needle in text)
        assert f"{path}:{line}:" in err, (needle, err)
    for secret in (LK_SECRET, LP_KEY, LP_KEY_2):
        assert secret not in err


def test_unreadable_secret_fails_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The check reads every secret, a disabled target's too: an unset variable is exit 2."""
    path = valid_file(tmp_path)
    assert main(["--config.check", "--config.file", str(path)], {"LP_TWO": LP_KEY_2}) == 2
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "LK_US" in text)
    assert f"{path}:{line}: livekit[1] (prod-us).api_secret_env:" in capsys.readouterr().err


def test_check_without_a_file_prints_the_flag_targets(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a file the flags' targets are checked and printed the same way."""
    env = {
        "LIVEKIT_PROJECT_ID": "p_flags",
        "LIVEKIT_API_KEY": "APIflags",
        "LIVEKIT_API_SECRET": LK_SECRET,
        "LIVEPEER_API_KEY": LP_KEY,
    }
    argv = ["--config.check", "--livepeer.target-name=studio-flags", "--poll.interval=20s"]
    assert main(argv, env) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "p_flags" in line or "studio-flags" in line]
    assert len(lines) == 2, out
    assert shows(lines[0], "livekit_cloud", "p_flags", interval=20), lines[0]
    assert shows(lines[1], "livepeer_studio", "studio-flags", digest(LP_KEY), interval=20)
    assert LK_SECRET not in out
    assert LP_KEY not in out


def test_check_with_bad_flags_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a file, invalid flags are reported like at a start: every one, exit 2."""
    argv = ["--config.check", "--livekit.lookback-days=9", "--poll.timeout=soon"]
    env = {"LIVEKIT_PROJECT_ID": "p", "LIVEKIT_API_KEY": "k", "LIVEKIT_API_SECRET": LK_SECRET}
    assert main(argv, env) == 2
    err = capsys.readouterr().err
    assert "--livekit.lookback-days" in err
    assert "--poll.timeout" in err


def test_check_validates_the_web_config_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--config.check loads --web.config.file as a start would: a good one is named in the
    report, a bad one is exit 2 naming the flag, the file and the problem."""
    web = tmp_path / "web.yml"
    web.write_text("http_server_config:\n  headers:\n    X-Frame-Options: deny\n")
    assert main(["--demo", "--config.check", f"--web.config.file={web}"], {}) == 0
    assert f"web configuration OK ({web})" in capsys.readouterr().out
    web.write_text("http_server_config:\n  headers:\n    Content-Type: text/html\n")
    assert main(["--demo", "--config.check", f"--web.config.file={web}"], {}) == 2
    err = capsys.readouterr().err
    assert f"--web.config.file {web}:" in err
    assert 'HTTP header "Content-Type" can not be configured' in err
