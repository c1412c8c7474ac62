"""Does bluegreen hold its contract on a bad day? Deploys in the sandbox under injected AWS faults.

Section "throttling": one sandbox world (moto + CodeDeploy emulator + fleet + the real hooks, in
this process) with a ``sandbox.throttle.ThrottlingProxy`` in front of BOTH moto
(``AWS_ENDPOINT_URL``) and the emulator (``AWS_ENDPOINT_URL_CODEDEPLOY``) that refuses ``--rate``
of all requests (seeded) with the service's own throttling error, for the CLI and the hooks alike
(``--spare-hooks``: the CLI's only); the world's own plumbing, the emulator's resource actions and
the fleet, talks to moto directly.
``--deploys`` runs of the real CLI (``python -m orchestrator deploy``, one process each),
spread over ``--services`` services deployed at the same time, each service's deploys one after
another. Printed, in one run: deploys attempted / completed (exit 0) / duplicated (a request token
carried by more than one deployment) / orphaned (task definition revisions registered during the run
that no deployment uses), read from moto and the emulator afterwards (``sandbox.ledger``), and how
many hook invocations the sandbox's Lambda runner retried after a function error (as Lambda does).

    .venv/bin/python bench/chaos.py [--deploys 20] [--services 4] [--rate 0.3] [--seed 1]
        [--strategy all-at-once] [--time-scale 40] [--env dev] [--spare-hooks]
        [--concurrent 16] [--concurrent-time-scale 40]

Section "concurrency": ``--concurrent`` healthy releases of the shipped catalog's services deployed
at once in one world (``bench/concurrent_deploys.py``), printed as "N of N succeeded".

``main`` runs each section of ``SECTIONS`` in turn; a section returns the lines it prints.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from orchestrator.commands.deploy import applied as endpoints  # noqa: E402 (sets, then restores, env)
from orchestrator.time_scale import positive_number_arg  # noqa: E402
from orchestrator.vocabulary import LifecycleStatus  # noqa: E402
from sandbox.ledger import Ledger, active_revisions, read_ledger  # noqa: E402
from sandbox.throttle import ThrottlingProxy  # noqa: E402
from sandbox.world import DEFAULT_TIME_SCALE, World, WorldOptions  # noqa: E402

HOOKS_USER_AGENT = "bluegreen-hooks"  # hooks/clients.py's user_agent_extra
SERVICES = (
    "product-service",
    "order-service",
    "user-service",
    "auth-service",
    "payment-service",
    "shipping-service",
    "seller-service",
    "coupon-service",
)


@dataclass
class DeployRun:
    service: str
    code: int
    error: str
    wall: float


@dataclass
class ThrottlingResult:
    runs: list[DeployRun]
    ledger: Ledger
    requests: Counter[str] = field(default_factory=Counter)
    throttled: Counter[str] = field(default_factory=Counter)
    wall: float = 0.0
    hook_retries: int = 0  # hook invocations the Lambda runner retried after a function error
    hook_seconds: dict[str, list[float]] = field(default_factory=dict)  # function -> real seconds

    @property
    def completed(self) -> int:
        return sum(1 for run in self.runs if run.code == 0)


def deploy_once(service: str, args: argparse.Namespace) -> DeployRun:
    """One `bluegreen deploy` process against whatever AWS_ENDPOINT_URL* point at."""
    started = time.monotonic()
    command = [sys.executable, "-m", "orchestrator", "deploy", service, "--env", args.env]
    command += ["--strategy", args.strategy, "--time-scale", f"{args.time_scale:g}", "--output", "json"]
    done = subprocess.run(
        command, capture_output=True, text=True, env=dict(os.environ), cwd=REPO, timeout=900
    )
    error = (done.stderr.strip().splitlines() or [""])[-1]
    document = json.loads(done.stdout) if done.stdout.strip().startswith("{") else {}
    if done.returncode != 0 and not error:
        error = str(document.get("error", ""))
    if done.returncode == 3:  # where it was when the watch gave up
        events = document.get("lifecycleEvents") or {}
        done = {status.value for status in LifecycleStatus if status.is_done}
        running = [name for name, status in events.items() if status not in done]
        error += f" [lifecycle events not done: {', '.join(running) or 'none'}]"
    return DeployRun(service, done.returncode, error, time.monotonic() - started)


def run_throttling(args: argparse.Namespace) -> ThrottlingResult:
    services = list(SERVICES[: args.services])
    per_service = [
        args.deploys // len(services) + (i < args.deploys % len(services)) for i in range(len(services))
    ]
    started = time.monotonic()
    options = WorldOptions(time_scale=args.time_scale)
    with World(REPO / "services.yaml", args.env, services, None, options) as world:
        clients = world.clients()
        baseline = active_revisions(clients.ecs)
        spare = HOOKS_USER_AGENT if args.spare_hooks else None
        moto_proxy = ThrottlingProxy(
            world.moto_url, args.rate, seed=args.seed, name="throttle-moto", spare_user_agent=spare
        )
        codedeploy_proxy = ThrottlingProxy(
            world.codedeploy_url, args.rate, seed=args.seed + 1, name="throttle-cd", spare_user_agent=spare
        )
        runs: list[DeployRun] = []
        lock = threading.Lock()

        def deploy_service(service: str, count: int) -> None:
            for _ in range(count):
                run = deploy_once(service, args)
                with lock:
                    runs.append(run)

        with moto_proxy as moto_url, codedeploy_proxy as codedeploy_url:
            variables = {"AWS_ENDPOINT_URL": moto_url, "AWS_ENDPOINT_URL_CODEDEPLOY": codedeploy_url}
            with endpoints(variables):
                threads = [
                    threading.Thread(target=deploy_service, args=(s, n), name=f"chaos-{s}")
                    for s, n in zip(services, per_service, strict=True)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
        groups = [
            (item.service.settings.application, item.service.settings.deployment_group)
            for item in world.infra
        ]
        ledger = read_ledger(clients.codedeploy, clients.ecs, groups, baseline)
        requests = Counter(
            {"moto": moto_proxy.requests.total(), "codedeploy": codedeploy_proxy.requests.total()}
        )
        throttled = Counter(
            {"moto": moto_proxy.throttled.total(), "codedeploy": codedeploy_proxy.throttled.total()}
        )
        invocations = list(world.runner.invocations) if world.runner else []
    hook_seconds: dict[str, list[float]] = {}
    for invocation in invocations:
        hook_seconds.setdefault(invocation.function_name, []).append(invocation.seconds)
    retried = sum(1 for invocation in invocations if invocation.attempt > 1)
    wall = time.monotonic() - started
    return ThrottlingResult(runs, ledger, requests, throttled, wall, retried, hook_seconds)


def throttling_section(args: argparse.Namespace) -> list[str]:
    result = run_throttling(args)
    share = ", ".join(
        f"{name} {result.throttled[name]} of {result.requests[name]}" for name in ("moto", "codedeploy")
    )
    lines = [
        f"throttling: {args.rate:.0%} of {'the CLI' if args.spare_hooks else 'all'}'s AWS requests refused "
        f"(seed {args.seed}; {share}), "
        f"{args.deploys} deploys of {args.services} services "
        f"({args.strategy}, time scale {args.time_scale:g}), {result.wall:.0f} s",
        f"  deploys attempted {len(result.runs)} / completed {result.completed} / "
        f"duplicated {result.ledger.duplicated} / orphaned {len(result.ledger.orphans)}",
        f"  hook invocations retried by Lambda: {result.hook_retries}",
        "  hook real seconds (median / max): "
        + ", ".join(
            f"{name.split('-', 2)[-1]} {statistics.median(times):.2f} / {max(times):.2f}"
            for name, times in sorted(result.hook_seconds.items())
        ),
    ]
    for run in result.runs:
        if run.code != 0:
            lines.append(f"  exit {run.code} {run.service}: {run.error}")
    lines.extend(f"  orphan {arn}" for arn in result.ledger.orphans)
    return lines


def concurrent_section(args: argparse.Namespace) -> list[str]:
    """Issue #9's other bad day: ``--concurrent`` healthy releases at once on this machine, at the
    sandbox's default clock (bench/concurrent_deploys.py measures it)."""
    if args.concurrent < 1:
        return []
    from concurrent_deploys import measure  # beside this script (sys.path[0])

    result = measure(n=args.concurrent, time_scale=args.concurrent_time_scale, environment=args.env)
    lines = [
        f"concurrency: {result['n']} concurrent sandbox deploys at time scale {result['time_scale']:g}: "
        f"{result['succeeded']} of {result['n']} succeeded in {result['wall_seconds']:g} s "
        f"(virtual clock held back {result['clock_held_virtual_seconds']:g} virtual s)"
    ]
    if result["succeeded"] < result["n"]:
        lines.append(f"  outcomes: {result['statuses']}, failed at: {result['failed_at']}")
    return lines


# Each section takes the parsed arguments and returns the lines it prints.
SECTIONS: list[tuple[str, Callable[[argparse.Namespace], list[str]]]] = [
    ("throttling", throttling_section),
    ("concurrency", concurrent_section),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--deploys", type=int, default=20)
    parser.add_argument("--services", type=int, default=4, help=f"deployed at once (at most {len(SERVICES)})")
    parser.add_argument("--rate", type=float, default=0.3, help="share of AWS requests throttled")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--strategy", default="all-at-once")
    parser.add_argument("--time-scale", type=positive_number_arg, default=DEFAULT_TIME_SCALE)
    parser.add_argument("--env", default="dev")
    parser.add_argument("--concurrent", type=int, default=16, help="healthy deploys at once (0: skip)")
    parser.add_argument("--concurrent-time-scale", type=positive_number_arg, default=DEFAULT_TIME_SCALE)
    parser.add_argument(
        "--spare-hooks",
        action="store_true",
        help="throttle only the CLI's requests, not the hooks' (in-process)",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.services <= len(SERVICES) or args.deploys < 1:
        parser.error(f"--services must be 1..{len(SERVICES)} and --deploys at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for _name, section in SECTIONS:
        for line in section(args):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
