"""Do healthy releases stay healthy when the sandbox is busy? 16 deploys at once in one world.

One world runs every service of the catalog (16 in the shipped one) in one environment; a thread
per service registers a new task definition revision and creates a deployment of it at the same
moment, the way `bluegreen deploy` does (the catalog's strategy for the environment), and waits for
the outcome. Every release is healthy, so every one must succeed: a failure is the sandbox inventing
one (virtual time running past the work its waits stand for).

    .venv/bin/python bench/concurrent_deploys.py [--n 16] [--time-scale 40] [--env dev] [--burners 0]
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from orchestrator.appspec import appspec_revision, ecs_input_for, render_ecs_appspec  # noqa: E402
from orchestrator.catalog import load_catalog  # noqa: E402
from orchestrator.files.taskdef import load_task_definition  # noqa: E402
from orchestrator.strategies import parse_strategy  # noqa: E402
from orchestrator.time_scale import positive_number_arg  # noqa: E402
from orchestrator.vocabulary import DeploymentStatus, DeploymentWaitType, LifecycleStatus  # noqa: E402
from sandbox.moto_server import sandbox_client_factory  # noqa: E402
from sandbox.world import DEFAULT_TIME_SCALE, World, WorldOptions  # noqa: E402

TERMINAL = {status.value for status in DeploymentStatus if status.is_terminal}
_DONE = tuple(status.value for status in LifecycleStatus if status.is_done)
WAIT_REAL_SECONDS = 600.0
BURN_SECONDS = (
    300.0  # a CPU burner's own bound  # a bound, not an expectation: 16 deploys take well under a minute idle
)


def _deploy(world: World, name: str, outcome: dict[str, Any], go: threading.Event) -> None:
    """Create one deployment (own boto3 clients: they are not shared across threads) and wait for it."""
    make = sandbox_client_factory(world.region)
    ecs, codedeploy = make("ecs", world.moto_url), make("codedeploy", world.codedeploy_url)
    try:
        service = world.catalog.resolve(name, world.environment)
        registered = ecs.register_task_definition(**load_task_definition(service))
        arn = registered["taskDefinition"]["taskDefinitionArn"]
        chosen = parse_strategy(service.settings.strategy)
        request = chosen.create_request()
        if request is not None:
            with contextlib.suppress(codedeploy.exceptions.DeploymentConfigAlreadyExistsException):
                codedeploy.create_deployment_config(**request)
        go.wait()
        deployment_id = codedeploy.create_deployment(
            applicationName=service.settings.application,
            deploymentGroupName=service.settings.deployment_group,
            deploymentConfigName=chosen.deployment_config_name,
            revision=appspec_revision(render_ecs_appspec(ecs_input_for(service, arn))),
            description="bench/concurrent_deploys.py",
        )["deploymentId"]
        deadline = time.monotonic() + WAIT_REAL_SECONDS
        continued = False
        while time.monotonic() < deadline:
            info = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"]
            if info["status"] == DeploymentStatus.READY and not continued:
                # The catalog's groups wait at Ready (STOP_DEPLOYMENT); continue as `deploy` does.
                codedeploy.continue_deployment(
                    deploymentId=deployment_id, deploymentWaitType=DeploymentWaitType.READY_WAIT.value
                )
                continued = True
            if info["status"] in TERMINAL:
                outcome.update(status=info["status"], error=info.get("errorInformation", {}))
                targets = codedeploy.list_deployment_targets(deploymentId=deployment_id).get("targetIds", [])
                outcome["targets"] = targets
                _failed_event(codedeploy, deployment_id, outcome)
                return
            time.sleep(0.5)
        outcome.update(status="TimedOut")
    except Exception as error:  # reported, not raised: one broken thread must not hide the others
        outcome.update(status="Error", error=repr(error))
    finally:
        ecs.close()
        codedeploy.close()


def _failed_event(codedeploy: Any, deployment_id: str, outcome: dict[str, Any]) -> None:
    """The first lifecycle event that did not succeed (where the sandbox failed the release)."""
    for target_id in outcome.get("targets", []):
        target = codedeploy.get_deployment_target(deploymentId=deployment_id, targetId=target_id)
        events = target["deploymentTarget"].get("ecsTarget", {}).get("lifecycleEvents", [])
        for event in events:
            if event.get("status") not in (*_DONE, LifecycleStatus.PENDING):
                outcome["failed_event"] = event["lifecycleEventName"]
                return


def burn_cpu(count: int, seconds: float = BURN_SECONDS) -> list[subprocess.Popen[bytes]]:
    """``count`` CPU-bound processes; each ends by itself after ``seconds`` whatever happens to us."""
    code = f"import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"
    return [subprocess.Popen([sys.executable, "-c", code]) for _ in range(count)]


def measure(
    n: int = 16,
    time_scale: float = DEFAULT_TIME_SCALE,
    environment: str = "dev",
    burners: int = 0,
    catalog_path: Path = REPO / "services.yaml",
) -> dict[str, Any]:
    """Deploy ``n`` services of the catalog (the shipped one by default) at once; counts of outcomes
    and the wall time.

    ``burners``: CPU-bound processes run while the deployments do (started once the world is up,
    so they load the deployments, not the world's start-up)."""
    catalog = load_catalog(catalog_path)
    names = catalog.services[:n]
    if len(names) < n:
        raise ValueError(f"the catalog has {len(names)} services, {n} asked")
    options = WorldOptions(time_scale=time_scale)
    with World(catalog, environment, names, options=options) as world:
        outcomes: dict[str, dict[str, Any]] = {name: {} for name in names}
        go = threading.Event()
        threads = [
            threading.Thread(target=_deploy, args=(world, name, outcomes[name], go), daemon=True)
            for name in names
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.5)  # every thread registered its revision: the creates go out together
        load = burn_cpu(burners)
        try:
            started = time.monotonic()
            go.set()
            for thread in threads:
                thread.join(WAIT_REAL_SECONDS + 60)
            wall = time.monotonic() - started
        finally:
            for process in load:
                process.kill()
                process.wait()
        lag = getattr(world.clock, "lag", lambda: 0.0)()  # virtual seconds back-pressure held back
    statuses = Counter(str(o.get("status")) for o in outcomes.values())
    failed_at = Counter(str(o["failed_event"]) for o in outcomes.values() if "failed_event" in o)
    return {
        "n": n,
        "time_scale": time_scale,
        "succeeded": statuses.get(DeploymentStatus.SUCCEEDED, 0),
        "statuses": dict(statuses),
        "failed_at": dict(failed_at),
        "burners": burners,
        "wall_seconds": round(wall, 1),
        "clock_held_virtual_seconds": round(lag, 1),
        "outcomes": outcomes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--time-scale", type=positive_number_arg, default=DEFAULT_TIME_SCALE)
    parser.add_argument("--env", default="dev")
    parser.add_argument("--burners", type=int, default=0, help="CPU-bound processes run meanwhile")
    args = parser.parse_args(argv)
    result = measure(args.n, args.time_scale, args.env, args.burners)
    print(
        f"{result['n']} concurrent sandbox deploys at time scale {result['time_scale']:g}"
        f"{f' with {args.burners} CPU burners' if args.burners else ''}: "
        f"{result['succeeded']} of {result['n']} succeeded in {result['wall_seconds']:g} s "
        f"(virtual clock held back {result['clock_held_virtual_seconds']:g} virtual s)"
    )
    if result["succeeded"] < result["n"]:
        print(f"  outcomes: {result['statuses']}, failed at: {result['failed_at']}")
    return 0 if result["succeeded"] == result["n"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
