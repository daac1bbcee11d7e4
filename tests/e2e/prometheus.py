"""A private Prometheus server on loopback, for end-to-end tests.

The Debian ``prometheus`` binary runs with its own config and data directory under a test's
temporary directory, listening on a free 127.0.0.1 port, scraping the given targets every
second and evaluating rules every second. :class:`PrometheusServer` starts it, answers
instant queries through the HTTP API, and stops it with SIGTERM. Nothing here sleeps blindly:
callers poll with :func:`tests.support.processes.wait_for`.
"""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypedDict

import httpx
import yaml

from tests.support.processes import wait_for

__all__ = ["PrometheusError", "PrometheusServer", "Series", "prometheus_config"]


class Series(TypedDict):
    """One element of an instant vector: its labels and ``[timestamp, "value"]``."""

    metric: dict[str, str]
    value: list[Any]


class PrometheusError(AssertionError):
    """The API answered with ``status: error``; the message carries Prometheus' own text."""


def prometheus_config(
    *, job: str, targets: Sequence[str], metrics_path: str, rule_files: Sequence[Path]
) -> dict[str, Any]:
    """A config scraping ``targets`` and evaluating ``rule_files`` every second."""
    return {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {
                "job_name": job,
                "metrics_path": metrics_path,
                "static_configs": [{"targets": list(targets)}],
            }
        ],
    }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class PrometheusServer:
    """``prometheus`` with ``config`` in ``workdir``; use as a context manager or start/stop."""

    def __init__(self, binary: str, workdir: Path, config: dict[str, Any]) -> None:
        self.binary = binary
        self.workdir = workdir
        self.config = config
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._client = httpx.Client(timeout=10)

    @property
    def log(self) -> str:
        """What the server printed so far (its logs go to a file in ``workdir``)."""
        path = self.workdir / "prometheus.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def start(self, *, within: float = 30) -> Self:
        config_path = self.workdir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(self.config, sort_keys=False), encoding="utf-8")
        # The port is chosen before Prometheus binds it; another process may take it first,
        # so a bind failure is retried on a fresh port.
        for _ in range(3):
            port = _free_port()
            self.url = f"http://127.0.0.1:{port}"
            with (self.workdir / "prometheus.log").open("wb") as log:
                self._process = subprocess.Popen(
                    [
                        self.binary,
                        f"--config.file={config_path}",
                        f"--storage.tsdb.path={self.workdir / 'data'}",
                        f"--web.listen-address=127.0.0.1:{port}",
                        "--log.level=warn",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                )
            try:
                wait_for(
                    lambda: self.returncode is not None or self._ready(),
                    within=within,
                    what="Prometheus to answer /-/ready",
                )
            except AssertionError as error:
                raise AssertionError(f"{error}; its log:\n{self.log}") from None
            if self.returncode is None:
                return self
            if "address already in use" not in self.log:
                break
        raise AssertionError(f"prometheus exited {self.returncode}:\n{self.log}")

    def _ready(self) -> bool:
        try:
            return self._client.get(f"{self.url}/-/ready").status_code == 200
        except httpx.TransportError:
            return False

    def stop(self, *, within: float = 15) -> int:
        """SIGTERM, then the exit status; kills the server if it outlives ``within``."""
        self._client.close()
        process = self._process
        if process is None:
            return 0
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            return process.wait(within)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(within)
            raise AssertionError(f"prometheus still running {within} s after SIGTERM") from None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.poll()

    # -- the HTTP API ----------------------------------------------------------------------

    def _api(self, method: str, path: str, **form: str) -> Any:
        response = self._client.request(method, f"{self.url}/api/v1/{path}", data=form or None)
        body = response.json()
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {form}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[Series]:
        """The instant vector ``expr`` evaluates to now; fails on any other result type."""
        data = self._api("POST", "query", query=expr)
        if data["resultType"] != "vector":
            raise PrometheusError(f"{expr!r} gave a {data['resultType']}, not an instant vector")
        result: list[Series] = data["result"]
        return result

    def format_query(self, expr: str) -> str:
        """``expr`` as Prometheus formats it: a parse-only check by the server itself."""
        formatted: str = self._api("POST", "format_query", query=expr)
        return formatted

    def rules(self) -> list[dict[str, Any]]:
        """Every loaded rule with its group's name added, as ``/api/v1/rules`` reports it."""
        groups: list[dict[str, Any]] = self._api("GET", "rules")["groups"]
        return [{**rule, "group": group["name"]} for group in groups for rule in group["rules"]]
