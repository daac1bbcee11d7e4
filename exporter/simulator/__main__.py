"""``python -m exporter.simulator``: serve both simulated APIs until SIGINT or SIGTERM.

Prints the base URLs and the credentials of the run as ``NAME=value`` lines (the names the
exporter reads from its environment), then serves on loopback. With several projects, the
first project's credentials keep those names and project ``n`` (from 2) follows with the
same names suffixed ``_n`` (``LIVEKIT_API_KEY_2``...), for a configuration file's
``*_env`` references. It is a development tool:
printing its own throwaway credentials is the point. Exits 0 on SIGINT/SIGTERM, 2 on bad
arguments.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from typing import TextIO

import anyio

from .config import SimulatorConfig, SimulatorEndpoints
from .http.faults import FAULT_SYNTAX, Fault, parse_fault_spec
from .simulator import run_simulator

__all__ = ["build_parser", "config_from_args", "format_endpoints", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m exporter.simulator",
        description=(
            "Serve simulated LiveKit Cloud Analytics and Livepeer Studio APIs over HTTP, "
            "from one seeded, evolving world, and print where and with which credentials."
        ),
        epilog=FAULT_SYNTAX,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--seed", type=int, default=0, help="world seed (default 0)")
    parser.add_argument(
        "--livekit-sessions", type=int, default=25, metavar="N", help="LiveKit rooms (default 25)"
    )
    parser.add_argument(
        "--livepeer-sessions",
        type=int,
        default=25,
        metavar="N",
        help="Livepeer streams (default 25)",
    )
    parser.add_argument(
        "--livekit-projects",
        type=int,
        default=1,
        metavar="N",
        help="LiveKit projects, each with its own credentials and rooms (default 1)",
    )
    parser.add_argument(
        "--livepeer-projects",
        type=int,
        default=1,
        metavar="N",
        help="Livepeer Studio projects, each with its own API key and streams (default 1)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--livekit-port", type=int, default=0, help="default: a free port")
    parser.add_argument("--livepeer-port", type=int, default=0, help="default: a free port")
    parser.add_argument(
        "--snake-case",
        action="store_true",
        dest="livekit_snake_case",
        help="LiveKit keys in snake_case, as old docs showed",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="ENDPOINT=ITEM[,ITEM...]",
        help="inject a fault (repeatable; syntax below)",
    )
    return parser


def config_from_args(argv: Sequence[str] | None = None) -> SimulatorConfig:
    """The configuration for ``argv``; exits 2 with a message on bad arguments."""
    parser = build_parser()
    # every option but --fault is named after the configuration field it sets
    options = vars(parser.parse_args(argv))
    faults: list[tuple[str, Fault]] = []
    for spec in options.pop("fault"):
        try:
            faults.append(parse_fault_spec(spec))
        except ValueError as exc:
            parser.error(f"--fault: {exc}")
    try:
        return SimulatorConfig(**options, faults=tuple(faults))
    except ValueError as exc:
        parser.error(str(exc))


def format_endpoints(endpoints: SimulatorEndpoints) -> str:
    """The lines printed at start: URLs and credentials, one ``NAME=value`` each.

    The first project of each API as always; every further one with suffixed names.
    """
    lines = [
        "# LiveKit Cloud Analytics API (simulated)",
        f"LIVEKIT_CLOUD_API_URL={endpoints.livekit_url}",
        f"LIVEKIT_PROJECT_ID={endpoints.livekit_project_id}",
        f"LIVEKIT_API_KEY={endpoints.livekit_api_key}",
        f"LIVEKIT_API_SECRET={endpoints.livekit_api_secret}",
    ]
    for number, project in enumerate(endpoints.livekit_projects[1:], start=2):
        lines += [
            f"# LiveKit project {number}",
            f"LIVEKIT_PROJECT_ID_{number}={project.project_id}",
            f"LIVEKIT_API_KEY_{number}={project.api_key}",
            f"LIVEKIT_API_SECRET_{number}={project.api_secret}",
        ]
    lines += [
        "# Livepeer Studio API (simulated)",
        f"LIVEPEER_API_URL={endpoints.livepeer_url}",
        f"LIVEPEER_API_KEY={endpoints.livepeer_api_key}",
    ]
    for number, studio in enumerate(endpoints.livepeer_projects[1:], start=2):
        lines += [
            f"# Livepeer Studio project {number} ({studio.project_id})",
            f"LIVEPEER_API_KEY_{number}={studio.api_key}",
        ]
    return "\n".join([*lines, ""])


async def _serve(config: SimulatorConfig, out: TextIO) -> None:
    # listen for signals before serving, so an early SIGTERM still ends in a clean exit
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with anyio.create_task_group() as tg:
            endpoints = await tg.start(run_simulator, config)
            out.write(format_endpoints(endpoints))
            out.flush()
            async for _ in signals:
                break
            tg.cancel_scope.cancel()


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    config = config_from_args(argv)
    anyio.run(_serve, config, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
