"""Command-line entry point: parse settings, configure logging, run, map outcomes to exit codes.

Exit codes (README, "Exit codes"): 0 clean shutdown or ``--once`` success; 1 ``--once``
failure or an unrecoverable runtime error; 2 invalid configuration or usage.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import anyio

from exporter import __version__
from exporter.app import run
from exporter.config.flags import help_text
from exporter.config.settings import Settings
from exporter.errors import ConfigError
from exporter.logs import Redactor, configure_logging, get_logger
from exporter.sources.base import SourceSpec
from exporter.sources.registry import SOURCES, all_flags, secret_envs
from exporter.web.security.schema import WebConfigError
from exporter.web.security.secured import validate_web_config

__all__ = ["check_report", "main"]

PROG = "livesession-exporter"


def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    specs: Sequence[SourceSpec[Any]] = SOURCES,
) -> int:
    """Run the exporter; returns the process exit status. ``specs`` is for test harnesses."""
    args = list(sys.argv[1:] if argv is None else argv)
    environ = os.environ if env is None else env
    if "--help" in args or "-h" in args:
        sys.stdout.write(help_text(PROG, all_flags(specs), secret_envs(specs)))
        return 0
    if "--version" in args:
        sys.stdout.write(f"{PROG} {__version__}\n")
        return 0
    try:
        settings = Settings.from_sources(args, environ, specs)
    except ConfigError as exc:
        sys.stderr.write(f"{PROG}: invalid configuration:\n")
        sys.stderr.writelines(f"  {problem}\n" for problem in exc.problems)
        return 2
    warnings: tuple[str, ...] = ()
    if settings.web_config_file is not None:
        try:
            _, warnings = validate_web_config(settings.web_config_file)
        except WebConfigError as exc:
            sys.stderr.write(f"{PROG}: invalid configuration:\n")
            sys.stderr.writelines(
                f"  --web.config.file {settings.web_config_file}: {problem}\n"
                for problem in exc.problems
            )
            return 2
    if settings.check:
        sys.stdout.write(check_report(settings))
        return 0
    redactor = Redactor(settings.secrets)
    configure_logging(settings.log_level, settings.log_format, redactor)
    for warning in warnings:
        get_logger().warning("web_config_warning", warning=warning)
    try:
        return anyio.run(partial(run, settings, specs=specs, redactor=redactor))
    except OSError as exc:  # binding the listen address, mostly: name it and stop
        get_logger().error("startup_failed", error=f"{type(exc).__name__}: {exc}")
        return 1
    except KeyboardInterrupt:  # SIGINT before the signal receiver was installed
        return 0


def check_report(settings: Settings) -> str:
    """``--config.check``'s output: one line per target, never a secret."""
    where = settings.config_file or "flags and environment"
    lines = [f"configuration OK ({where}): {len(settings.targets)} target(s)"]
    if settings.web_config_file is not None:
        lines.insert(0, f"web configuration OK ({settings.web_config_file})")
    for target in settings.targets:
        state = [] if target.enabled else ["disabled"]
        if target.enabled and not settings.shard.owns(target.identity):
            state.append(f"not in shard {settings.shard.ordinal}")
        lines.append(
            f"  {target.kind}  name={target.name}  identity={target.identity}  "
            f"interval={target.interval:g}s" + "".join(f"  ({s})" for s in state)
        )
    return "\n".join(lines) + "\n"
