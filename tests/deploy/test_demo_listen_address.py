"""--demo binds loopback unless told otherwise, and whatever runs --demo for others says so.

A laptop's ``make demo`` must not publish a demo exporter to its network (issue #16, 15), so
``--demo`` defaults to 127.0.0.1:9877. Everything that runs ``--demo`` to be scraped from
elsewhere (the image, the compose stack) gives an address of all interfaces itself.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from exporter.config.flags import env_name
from exporter.config.settings import Settings
from exporter.sources.registry import SOURCES, all_flags
from tests.deploy.manifests import (
    COMPOSE,
    DOCKERFILE,
    KUBERNETES,
    ROOT,
    dockerfile_instructions,
    final_stage,
)

FLAG = next(flag for flag in all_flags() if flag.name == "web.listen-address")
ENV = env_name(FLAG.name)
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _listen(argv: list[str], env: dict[str, str]) -> str:
    return str(Settings.from_sources(argv, env, SOURCES).listen_address)


def test_demo_alone_listens_on_loopback() -> None:
    assert FLAG.demo_default == "127.0.0.1:9877"
    assert _listen(["--demo"], {}) == "127.0.0.1:9877"
    assert _listen([], {env_name("demo"): "true"}) == "127.0.0.1:9877"


@pytest.mark.parametrize("address", [":9877", "0.0.0.0:9000", "[::1]:9877", "127.0.0.1:0"])
def test_demo_listens_where_the_flag_or_the_variable_says(address: str) -> None:
    assert _listen(["--demo", f"--web.listen-address={address}"], {}) == address
    assert _listen(["--demo"], {ENV: address}) == address
    assert _listen(["--demo", f"--web.listen-address={address}"], {ENV: ":1"}) == address


def test_without_demo_the_default_is_still_all_interfaces() -> None:
    """An exporter for Prometheus listens on :9877, as before; only the demo moved."""
    assert FLAG.default == ":9877"
    assert _listen([], {"LIVEPEER_API_KEY": "k" * 32}) == ":9877"


def test_the_image_listens_on_all_interfaces_even_for_the_demo() -> None:
    """A container's loopback is reachable from nowhere: the image sets the address, which
    its HEALTHCHECK also reads."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    env = " ".join(args for key, args in final_stage(dockerfile_instructions(text)) if key == "ENV")
    assert re.search(rf"(^|\s){ENV}=:9877(\s|$)", env), env


def _compose_command(*files: str) -> list[str]:
    command: list[str] = []
    for name in files:
        service: dict[str, Any] = yaml.safe_load((COMPOSE / name).read_text())["services"]
        command = service["exporter"].get("command", command)
    return command


@pytest.mark.parametrize(
    "files", [("compose.yaml",), ("compose.yaml", "compose.secured.yaml")], ids=str
)
def test_compose_passes_an_address_prometheus_can_scrape(files: tuple[str, ...]) -> None:
    """Prometheus scrapes exporter:9877 from its own container: the demo must not be on
    loopback there, so the command gives --web.listen-address=:9877 itself."""
    command = _compose_command(*files)
    assert "--demo" in command
    assert [arg for arg in command if arg.startswith("--web.listen-address")] == [
        "--web.listen-address=:9877"
    ]


def test_no_kubernetes_manifest_runs_the_demo_on_loopback() -> None:
    """A pod running --demo would need an address of all interfaces for its Service."""
    for path in sorted(KUBERNETES.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            for args in _container_args(document):
                if "--demo" in args:
                    assert any(a.startswith("--web.listen-address") for a in args), path


def _container_args(node: object) -> list[list[str]]:
    """The ``args`` and ``command`` lists of every container in a manifest, at any depth."""
    found: list[list[str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("args", "command") and isinstance(value, list):
                found.append([str(item) for item in value])
            else:
                found.extend(_container_args(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(_container_args(item))
    return found


def test_readme_quick_start_lists_the_prerequisites_the_address_and_how_to_stop() -> None:
    quick_start = README[README.index("## Quick start") : README.index("## Configuration")]
    for needed in ("Python ≥ 3.11", "python3-venv", "make", "make tools", "Ctrl-C", "exits 0"):
        assert needed in quick_start, needed
    assert "127.0.0.1:9877" in quick_start
    assert "--web.listen-address :9877" in quick_start
    (row,) = [line for line in README.splitlines() if line.startswith("| `--web.listen-address`")]
    assert "`127.0.0.1:9877`" in row
    assert "with `--demo`" in row
