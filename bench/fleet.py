"""How close is a fleet rollout to its waves' own critical path, and what does watching it cost?

One sandbox world runs every service of the catalog (16 in the shipped one); `bluegreen fleet deploy
--all --env ENV` runs in this process against it. Printed, all from that one run:

- wall time: real seconds, and virtual seconds on the world's clock (the deployments' time);
- ratio: the fleet's virtual wall time over the sum, over its waves, of each wave's longest
  deployment, both from the deployments' own create / complete times in the engines' lists
  (CodeDeploy BatchGetDeployments, ECS ListServiceDeployments): 1.0 is a fleet that costs nothing
  beyond its critical path; the gaps between waves are printed too;
- API calls per minute: every AWS call the command made, counted here on its thread (the world's
  own plumbing and the in-process hooks run on others), beside the command's own count
  (FleetDocument apiCalls / watchCalls); per virtual minute (the world's clock, which a busy world
  holds below the nominal scale) and per nominal minute (real seconds x the scale: the runner
  sleeps its poll intervals divided by the nominal scale, so this is its pace as AWS would see it).

    .venv/bin/python bench/fleet.py [--time-scale 400] [--env dev] [--catalog services.yaml]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from orchestrator.cli import main as bluegreen  # noqa: E402
from orchestrator.time_scale import positive_number_arg  # noqa: E402
from sandbox.listed_deployments import Listed, listed_deployments, wave_timing  # noqa: E402
from sandbox.world import World, WorldOptions  # noqa: E402

COMMAND = ["fleet", "deploy", "--all", "--output", "json"]
TIMEOUT_MINUTES = "600"  # virtual; a bound, not an expectation (dev's 16 take ~20 virtual minutes)


class CallCounter:
    """Counts botocore API calls made on one thread (the command's), by operation."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.thread: int | None = None

    def __enter__(self) -> CallCounter:
        import botocore.client

        self._original = original = botocore.client.BaseClient.__dict__["_make_api_call"]
        counter = self

        def counted(client: Any, operation: str, params: Any) -> Any:
            if threading.get_ident() == counter.thread:
                counter.calls[f"{client.meta.service_model.service_name}:{operation}"] += 1
            return original(client, operation, params)

        setattr(botocore.client.BaseClient, "_make_api_call", counted)  # noqa: B010 (mypy: private)
        self.thread = threading.get_ident()
        return self

    def __exit__(self, *exc: object) -> None:
        import botocore.client

        setattr(botocore.client.BaseClient, "_make_api_call", self._original)  # noqa: B010


def run(args: argparse.Namespace) -> list[str]:
    options = WorldOptions(time_scale=args.time_scale, evaluator_tick=1e6, traffic_rate=args.traffic_rate)
    started = time.monotonic()
    with World(args.catalog, args.env, [], None, options, all_services=True) as world:
        world_seconds = time.monotonic() - started
        since = datetime.fromtimestamp(world.clock.now(), UTC) - timedelta(seconds=1)
        out = io.StringIO()
        virtual0, real0 = world.clock.now(), time.monotonic()
        with CallCounter() as counter, contextlib.redirect_stdout(out):
            code = bluegreen([*COMMAND, "--env", args.env, "--timeout", TIMEOUT_MINUTES])
        real, virtual = time.monotonic() - real0, world.clock.now() - virtual0
        document = json.loads(out.getvalue())
        clients = world.clients()
        waves: dict[int, list[Listed]] = {}
        for row in document.get("services", []):
            service = world.catalog.resolve(row["service"], args.env)
            found = listed_deployments(clients.codedeploy, clients.native_ecs, service, since)
            waves.setdefault(row["wave"], []).extend(
                d for d in found if d.deployment_id == row["deploymentId"]
            )
    return report(args, document, code, counter.calls, real, virtual, world_seconds, waves)


def report(
    args: argparse.Namespace,
    document: dict[str, Any],
    code: int,
    calls: Counter[str],
    real: float,
    virtual: float,
    world_seconds: float,
    waves: dict[int, list[Listed]],
) -> list[str]:
    totals = document.get("totals", {})
    lines = [
        f"fleet deploy --all --env {args.env}: exit {code}, {totals.get('succeeded')} of "
        f"{totals.get('services')} succeeded in {len(waves)} waves (time scale {args.time_scale:g}; "
        f"world start {world_seconds:.1f} s)",
        f"wall time: {real:.1f} s real, {virtual:.0f} s virtual",
    ]
    if code == 0:
        timing = wave_timing(waves)
        longest = ", ".join(f"{seconds:.0f}" for seconds in timing.longest)
        gaps = ", ".join(f"{seconds:.1f}" for seconds in timing.gaps)
        lines += [
            f"waves' longest deployments (virtual s): {longest}; sum {timing.sum_of_longest:.0f}",
            f"ratio wall / sum of waves' longest: {virtual / timing.sum_of_longest:.2f} "
            f"(first create -> last complete: {timing.span / timing.sum_of_longest:.2f}); "
            f"gaps between waves (virtual s): {gaps}",
        ]
    minutes, nominal = virtual / 60.0, real * args.time_scale / 60.0
    total = sum(calls.values())
    top = ", ".join(f"{name} {count}" for name, count in calls.most_common(6))
    lines += [
        f"API calls: {total} by the command, {total / minutes:.1f} per virtual minute (the world's clock, "
        f"held at {virtual / real:.1f}x by its busiest part) and {total / nominal:.1f} per nominal minute "
        f"(real s x {args.time_scale:g}: the runner paces its polls by the nominal scale); its own count: "
        f"{document.get('apiCalls')} ({document.get('watchCalls')} watching, busiest minute "
        f"{document.get('maxCallsPerMinute')}, limit {document.get('callsPerMinuteLimit')})",
        f"  most: {top}",
    ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-scale", type=positive_number_arg, default=400.0)
    parser.add_argument("--traffic-rate", type=float, default=0.02, help="user requests per virtual s")
    parser.add_argument("--env", default="dev")
    parser.add_argument("--catalog", default=str(REPO / "services.yaml"))
    args = parser.parse_args()
    for line in run(args):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
