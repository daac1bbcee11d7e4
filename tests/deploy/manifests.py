"""Shared paths and helpers for the deployment tests: run a tool, render a kustomization, find
a resource in the rendered output.

Manifests are plain YAML, so they are handled as ``dict[str, Any]``; each test states the
shape it expects with assertions rather than with types.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.support.tools import venv_tool

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
COMPOSE = ROOT / "deploy" / "compose"
RULES = ROOT / "deploy" / "prometheus" / "livesession-exporter.rules.yml"
PROMETHEUSRULE = KUBERNETES / "base" / "prometheusrule.yaml"
SYNC_COMMAND = ".venv/bin/python scripts/sync-prometheusrule"

APP_LABEL = "app.kubernetes.io/name"
NAME = "livesession-exporter"
SECRET = "livesession-exporter-credentials"
JOB = "livesession-exporter"

Manifest = dict[str, Any]


def run(
    command: Sequence[str], *, stdin: str | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """Run a tool to completion, capturing its output (never raising on a failure status)."""
    return subprocess.run(
        list(command),
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def kustomize(overlay: str) -> str:
    """``kubectl kustomize deploy/kubernetes/OVERLAY``; fails the test on any error."""
    result = run([venv_tool("kubectl"), "kustomize", str(KUBERNETES / overlay)])
    assert result.returncode == 0, f"kubectl kustomize {overlay} failed:\n{result.stderr}"
    return result.stdout


def documents(text: str) -> list[Manifest]:
    """Every non-empty YAML document of a multi-document stream."""
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def one(docs: Iterable[Manifest], kind: str, name: str | None = None) -> Manifest:
    """The single resource of ``kind`` (and ``name``, when given) in ``docs``."""
    found = [
        doc
        for doc in docs
        if doc["kind"] == kind and (name is None or doc["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def kinds(docs: Iterable[Manifest]) -> list[str]:
    return sorted(doc["kind"] for doc in docs)


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether a matchLabels selector selects an object carrying ``labels``."""
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


DOCKERFILE = ROOT / "Dockerfile"


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` pairs, continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # Docker drops comment lines, even inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, arguments = (pending + line).partition(" ")
        instructions.append((keyword.upper(), " ".join(arguments.split())))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued instruction"
    return instructions


def final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The instructions of the last stage (from its FROM on)."""
    starts = [index for index, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    assert starts, "the Dockerfile has no FROM"
    return instructions[starts[-1] :]


def image_user() -> tuple[int, int]:
    """The numeric ``USER uid:gid`` the image runs as."""
    users = [
        args
        for keyword, args in final_stage(
            dockerfile_instructions(DOCKERFILE.read_text(encoding="utf-8"))
        )
        if keyword == "USER"
    ]
    assert len(users) == 1, f"expected one USER in the final stage, found {users}"
    uid, _, gid = users[0].partition(":")
    assert uid.isdigit(), f"USER {users[0]}: the uid is not numeric"
    assert gid.isdigit(), f"USER {users[0]}: give the gid too, numerically"
    return int(uid), int(gid)
