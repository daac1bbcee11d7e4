"""The Dockerfile and .dockerignore: hadolint clean, hardened, and the HEALTHCHECK works.

No container engine exists here, so the image is checked statically (hadolint plus plain
parsing) and its healthcheck command is run, as written, against a real exporter process.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

from exporter.sources.registry import all_flags
from tests.deploy.manifests import (
    DOCKERFILE,
    ROOT,
    dockerfile_instructions,
    final_stage,
    image_user,
    run,
)
from tests.support.processes import ExporterProcess, clean_env
from tests.support.tools import venv_tool

FLAGS = all_flags()

VENV = "/opt/venv/bin"


def _instructions() -> list[tuple[str, str]]:
    return dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))


def _final(keyword: str) -> list[str]:
    return [args for key, args in final_stage(_instructions()) if key == keyword]


def _exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)
    assert isinstance(value, list), f"{arguments} is not an exec-form JSON array"
    assert all(isinstance(item, str) for item in value)
    return [str(item) for item in value]


def _healthcheck() -> tuple[dict[str, str], list[str]]:
    """The HEALTHCHECK's options and its exec-form command."""
    (arguments,) = _final("HEALTHCHECK")
    options_text, _, command = arguments.partition(" CMD ")
    options = dict(option.removeprefix("--").split("=", 1) for option in options_text.split())
    return options, _exec_form(command)


def _default_port() -> str:
    flag = next(flag for flag in FLAGS if flag.name == "web.listen-address")
    assert flag.default is not None
    return flag.default.rpartition(":")[2]


def test_hadolint_reports_nothing() -> None:
    """hadolint (every rule, info level included) finds nothing in the Dockerfile."""
    result = run([venv_tool("hadolint"), "--no-color", "--format", "json", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []


def test_build_is_multi_stage_from_an_overridable_official_python_slim_base() -> None:
    """ARG BASE_IMAGE comes first, defaults to python:*-slim, and every stage uses it."""
    instructions = _instructions()
    assert instructions[0][0] == "ARG"
    name, _, default = instructions[0][1].partition("=")
    assert name == "BASE_IMAGE"
    assert re.fullmatch(r"python:3\.1[1-9][.\d]*-slim(-\w+)?", default), default
    froms = [args for keyword, args in instructions if keyword == "FROM"]
    assert len(froms) >= 2, "expected a build stage and a final stage"
    assert all(args.split()[0] == "${BASE_IMAGE}" for args in froms), froms
    build_stage = froms[0].split()[-1]
    copies = _final("COPY")
    assert f"--from={build_stage} /opt/venv /opt/venv" in copies, copies
    assert not any(" /src" in args or args.startswith("exporter") for args in copies), (
        "the final stage copies only the built venv, not sources"
    )


def test_build_installs_a_wheel_into_the_venv() -> None:
    """The build stage makes a wheel of the project and installs that into /opt/venv, with
    every dependency at the version constraints.txt pins (the version the tests ran)."""
    runs = " ".join(args for keyword, args in _instructions() if keyword == "RUN")
    assert "pip wheel --no-deps --wheel-dir /tmp/wheels ." in runs
    install = "/opt/venv/bin/pip install --constraint constraints.txt"
    assert f"{install} /tmp/wheels/livesession_exporter-*.whl" in runs


def test_runs_as_a_numeric_non_root_user() -> None:
    """USER is numeric (runAsNonRoot can verify it) and not root, and that user exists."""
    uid, gid = image_user()
    assert uid != 0
    assert gid != 0
    runs = " ".join(_final("RUN"))
    assert f"--uid {uid}" in runs
    assert f"--gid {gid}" in runs


def test_read_only_root_filesystem_needs_no_bytecode_writes() -> None:
    """The final stage turns off .pyc writing; its bytecode comes precompiled from pip."""
    env = " ".join(_final("ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in env
    assert f"PATH={VENV}:$PATH" in env
    assert not any(keyword == "VOLUME" for keyword, _ in _instructions()), (
        "a VOLUME would suggest the exporter writes files; it writes none"
    )


def test_entrypoint_is_the_console_script_in_exec_form() -> None:
    """ENTRYPOINT is an exec-form array, so SIGTERM reaches the exporter (PID 1) directly."""
    (entrypoint,) = _final("ENTRYPOINT")
    assert _exec_form(entrypoint) == [f"{VENV}/livesession-exporter"]
    assert not _final("CMD"), "arguments are the user's: docker run IMAGE --demo"


def test_exposes_the_default_listen_port() -> None:
    """EXPOSE names the port of --web.listen-address's default."""
    assert _final("EXPOSE") == [_default_port()]


def test_healthcheck_is_exec_form_python_without_curl() -> None:
    """HEALTHCHECK runs the venv's Python on /healthz: no shell, curl or wget in the image."""
    options, command = _healthcheck()
    assert command[:2] == [f"{VENV}/python", "-c"]
    assert "/healthz" in command[2]
    assert not re.search(r"\b(curl|wget|sh)\b", " ".join(command))
    assert set(options) >= {"interval", "timeout", "start-period", "retries"}
    assert f"timeout={int(options['timeout'].removesuffix('s')) - 1})" in command[2], (
        "the request must give up before Docker's timeout kills the check"
    )


def test_healthcheck_passes_against_a_live_exporter_and_fails_without_one() -> None:
    """The healthcheck command, as written, exits 0 on a live exporter's port and 1 elsewhere.

    It finds the port in LIVESESSION_WEB_LISTEN_ADDRESS, as it would in the container.
    """
    _, command = _healthcheck()
    local = [sys.executable, *command[1:]]
    with ExporterProcess(["--demo"]) as exporter:
        address = exporter.url.split("/")[2]  # 127.0.0.1:PORT
        up = subprocess.run(
            local,
            env=clean_env({"LIVESESSION_WEB_LISTEN_ADDRESS": address}),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert up.returncode == 0, up.stderr
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # a port nothing listens on while bound without listen()
        closed = sock.getsockname()[1]
        down = subprocess.run(
            local,
            env=clean_env({"LIVESESSION_WEB_LISTEN_ADDRESS": f":{closed}"}),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert down.returncode == 1
    assert "Connection refused" in down.stderr


# -- .dockerignore ----------------------------------------------------------------------------


def _pattern(text: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go filepath.Match plus ``**``) as a regular expression."""
    out = ""
    index = 0
    while index < len(text):
        if text.startswith("**/", index):
            out, index = out + "(?:.*/)?", index + 3
        elif text.startswith("**", index):
            out, index = out + ".*", index + 2
        elif text[index] == "*":
            out, index = out + "[^/]*", index + 1
        elif text[index] == "?":
            out, index = out + "[^/]", index + 1
        elif text[index] == "[":
            end = text.index("]", index)
            out, index = out + text[index : end + 1], end + 1
        else:
            out, index = out + re.escape(text[index]), index + 1
    return re.compile(out)


def _ignored(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    excluded = False
    for negated, pattern in rules:
        if any(pattern.fullmatch(candidate) for candidate in candidates):
            excluded = not negated
    return excluded


def _dockerignore() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for raw in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        cleaned = line.removeprefix("!").strip("/")
        rules.append((negated, _pattern(cleaned)))
    return rules


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    """.venv, .git, node_modules, caches, coverage data and tests never reach the daemon."""
    rules = _dockerignore()
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        "node_modules/js-yaml/package.json",
        "tools/node/node_modules/js-yaml/package.json",
        ".pytest_cache/README.md",
        ".mypy_cache/3.11/exporter/app.data.json",
        ".ruff_cache/CACHEDIR.TAG",
        ".hypothesis/examples/x",
        ".coverage",
        ".coverage.host.123",
        "htmlcov/index.html",
        "build/lib/exporter/app.py",
        "dist/livesession_exporter-0.1.0-py3-none-any.whl",
        "tests/unit/test_settings.py",
        "exporter/__pycache__/app.cpython-311.pyc",
        "exporter/sources/__pycache__/base.cpython-311.pyc",
        ".env",
    ):
        assert _ignored(path, rules), f"{path} would be sent to the build"


def test_dockerignore_keeps_everything_the_dockerfile_copies() -> None:
    """Every file a COPY takes from the context (not from a stage) is in the context."""
    rules = _dockerignore()
    copied: list[Path] = []
    for keyword, args in _instructions():
        if keyword != "COPY" or args.startswith("--from"):
            continue
        *sources, _destination = args.split()
        for source in sources:
            path = ROOT / source
            assert path.exists(), f"COPY {source}: not in the repository"
            copied += [path] if path.is_file() else list(path.rglob("*.py"))
    assert ROOT / "exporter" / "__init__.py" in copied
    missing = [
        str(p.relative_to(ROOT)) for p in copied if _ignored(str(p.relative_to(ROOT)), rules)
    ]
    assert not missing, f".dockerignore drops files the Dockerfile copies: {missing}"
