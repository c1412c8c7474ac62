"""``bluegreen sandbox serve``: keep a world up for other commands and the AWS CLI.

Prints the ``export`` lines that point boto3 (and so bluegreen and the AWS CLI) at the sandbox,
then runs until Ctrl-C or SIGTERM, and stops every thread, process and port it started.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import IO, Any

from orchestrator.catalog import Catalog
from orchestrator.commands.options import ENVIRONMENT_ENV_VAR
from sandbox.world import ANALYSIS_SCHEDULE, DEFAULT_TIME_SCALE, World, WorldOptions, narrate_stream

# What a shell needs to talk to the sandbox (the rest of World.env is for the in-process hooks).
EXPORTED = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_CODEDEPLOY",
    "AWS_ENDPOINT_URL_ECS",  # the native ECS emulator (service deployments; the rest goes to moto)
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "BLUEGREEN_CATALOG",
    # bluegreen's default --time-scale: watch intervals and timeouts follow the sandbox's clock.
    "BLUEGREEN_TIME_SCALE",
)


def export_lines(world: World) -> list[str]:
    """``export NAME=value`` for every variable a client of the sandbox needs, then a summary."""
    lines = [f"export {name}={world.env[name]}" for name in EXPORTED if name in world.env]
    # Later commands in that shell target the sandbox's environment (`serve --env prod`).
    lines.append(f"export {ENVIRONMENT_ENV_VAR}={world.environment}")
    for item in world.infra:
        lines.append(
            f"# {item.name}: production listener http://127.0.0.1:{item.production_port}, "
            f"test listener http://127.0.0.1:{item.test_port}"
        )
    lines.append(f"# hook logs: {world.log_path} (removed when the sandbox stops)")
    lines.append(
        f"# times in API answers are virtual: they start at the real time now and run "
        f"{world.env.get('BLUEGREEN_TIME_SCALE', '?')}x faster, so dates drift ahead of the calendar"
    )
    return lines


def serve(
    catalog: Catalog | str | os.PathLike[str] | None = None,
    environment: str | None = None,
    port: int | None = None,
    time_scale: float | None = None,
    services: list[str] | None = None,
    faults: Any = None,
    stop: threading.Event | None = None,
    out: IO[str] | None = None,
) -> int:
    """Run a world for ``services`` (default: every service of the catalog) until stopped; exit code 0.

    ``port``: the CodeDeploy emulator's port (0 or None: a free one). ``stop``: an event that ends
    the run (tests); otherwise SIGINT/SIGTERM do.
    """
    out = out or sys.stdout
    stop = stop or threading.Event()
    options = WorldOptions(
        time_scale=time_scale or DEFAULT_TIME_SCALE,
        codedeploy_port=port or 0,
        narrate=narrate_stream(),
        scheduled=ANALYSIS_SCHEDULE,  # the canary analysis every virtual minute, as template.yaml's
    )
    world = World(catalog, environment, services or [], faults, options, all_services=not services)
    previous = _install_signal_handlers(stop)
    try:
        with world:
            for line in export_lines(world):
                out.write(line + "\n")
            scale = f"time scale {options.time_scale:g}"
            up = f"# sandbox up ({len(world.infra)} services, {scale}); Ctrl-C stops it"
            out.write(up + "\n")
            out.flush()
            while not stop.wait(0.5):
                pass
    finally:
        _restore_signal_handlers(previous)
    out.write("# sandbox stopped\n")
    out.flush()
    return 0


def _install_signal_handlers(stop: threading.Event) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, lambda *_: stop.set())
    return previous


def _restore_signal_handlers(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
