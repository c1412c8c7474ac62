"""Issue 13 item 5: the exported fleet state machine executes. moto's ASL interpreter
(``sandbox.step_functions``) runs `orchestrator.fleet.export`'s definition; its Task states invoke
the real fleet step Lambda (``hooks.fleet_step``) on the world's in-process Lambda runner, which
deploys through both engines into one sandbox world: product-service and order-service on
CodeDeploy, inventory-service on Amazon ECS's native deployments (the shipped catalog's dev).

Plan: wave 1 = product-service + inventory-service (at most 2 at once), wave 2 = order-service.
1. Healthy: the execution SUCCEEDED and each service has one succeeded deployment; wave 2's
   started after wave 1's had ended; `bluegreen fleet watch RUN_ID` finds the run (its record, the
   machine's first step) and each deployment (by the run id they carry).
2. product-service's green answers 500 (its smoke hook fails): the execution FAILED with
   FleetFailed naming product-service, and order-service (wave 2) got no deployment.
In both, every AWS call the Lambda made is an action its exported role grants.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from orchestrator.aws.clients import AwsClients
from orchestrator.catalog import load_catalog
from orchestrator.engines import engine_for
from orchestrator.files.taskdef import load_task_definition
from orchestrator.fleet import export
from orchestrator.fleet.plan import FleetPlan, FleetService, Wave
from sandbox.faults import HEALTHY, parse_fault
from sandbox.moto_server import sandbox_client_factory
from sandbox.step_functions import StepFunctions
from sandbox.world import World, WorldOptions
from tests.support.fleet_catalog import fleet_catalog

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SCALE = 400.0
SERVICES = ["product-service", "inventory-service", "order-service"]
WAVES = [["product-service", "inventory-service"], ["order-service"]]
FUNCTION = "bluegreen-dev-fleet-step"
IAM_PREFIX = {"elbv2": "elasticloadbalancing"}


@dataclass
class Sandbox:
    world: World
    sfn: Any
    function_arn: str
    calls: set[str] = field(default_factory=set)  # IAM actions the Lambda's clients called


def plan_of(catalog: Any, strategies: dict[str, str] | None = None) -> FleetPlan:
    """The two waves; each service all-at-once unless ``strategies`` names its own."""
    chosen = strategies or {}
    waves = tuple(
        Wave(
            number,
            tuple(
                FleetService(
                    name,
                    catalog.resolve(name, "dev").settings.engine,
                    None,
                    60.0,
                    strategy=chosen.get(name, "all-at-once"),
                )
                for name in names
            ),
            60.0,
        )
        for number, names in enumerate(WAVES, start=1)
    )
    return FleetPlan("dev", None, 2, waves, 120.0)


def _record_call(calls: set[str], prefix: str, model: Any, **_: Any) -> None:
    """A call made by the fleet step Lambda (the runner's thread for it), as an IAM action."""
    if threading.current_thread().name == f"lambda-sync-{FUNCTION}":
        calls.add(f"{prefix}:{model.name}")


def record_calls(monkeypatch: pytest.MonkeyPatch, calls: set[str]) -> None:
    """Every call the fleet step Lambda makes through AwsClients, as an IAM action."""
    original = AwsClients.client

    def client(self: AwsClients, service_name: str, *, single_attempt: bool = False) -> Any:
        made = original(self, service_name, single_attempt=single_attempt)
        if not getattr(made, "_fleet_recorded", False):
            prefix = IAM_PREFIX.get(service_name, service_name)
            made.meta.events.register("before-call.*.*", functools.partial(_record_call, calls, prefix))
            made._fleet_recorded = True
        return made

    monkeypatch.setattr(AwsClients, "client", client)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    from hooks import fleet_step

    # The shipped catalog with these three services (dev: inventory-service on ECS), a short bake;
    # its depends_on among them puts order-service after product-service, as ``WAVES`` does.
    catalog = fleet_catalog(tmp_path_factory.mktemp("catalog"), SERVICES)
    options = WorldOptions(time_scale=SCALE, evaluator_tick=1e6, traffic_rate=0.05)
    with pytest.MonkeyPatch.context() as patch, World(catalog, "dev", SERVICES, None, options) as world:
        assert world.runner is not None
        world.runner.add_function(FUNCTION, fleet_step.handler, max_retry_attempts=0)
        calls: set[str] = set()
        record_calls(patch, calls)
        with StepFunctions(world.runner) as url:
            sfn = sandbox_client_factory(world.region)("stepfunctions", url)
            account = world.services[0].account_id or "123456789012"
            arn = f"arn:aws:lambda:{world.region}:{account}:function:{FUNCTION}"
            yield Sandbox(world, sfn, arn, calls)
            sfn.close()


@pytest.fixture
def in_world(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """The world's endpoint variables again (each test starts with a clean environment): the
    in-process Lambda reads them as a deployed one reads its own."""
    for key, value in sandbox.world.env.items():
        monkeypatch.setenv(key, value)
    return sandbox


def run_execution(
    sandbox: Sandbox, name: str, run_id: str, plan: FleetPlan, timeout: float = 120.0
) -> dict[str, Any]:
    """Create the exported machine and run one execution named ``run_id`` to its end."""
    options = export.ExportOptions(function_arn=sandbox.function_arn, poll_seconds=1, queue_wait_seconds=60)
    definition = export.state_machine(plan, options)
    assert export.problems(definition) == []
    machine = sandbox.sfn.create_state_machine(
        name=name, definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/fleet"
    )["stateMachineArn"]
    execution = sandbox.sfn.start_execution(stateMachineArn=machine, name=run_id, input="{}")["executionArn"]
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sandbox.sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        assert time.monotonic() < deadline, f"execution {run_id} still running after {timeout} s"
        time.sleep(0.25)


def started(sandbox: Sandbox, execution_arn: str) -> dict[str, str]:
    """service -> deployment id of every deployment the execution's start steps made (its history)."""
    made: dict[str, str] = {}
    request: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    for event in sandbox.sfn.get_execution_history(**request)["events"]:
        details = event.get("taskSucceededEventDetails")
        if not details:
            continue
        answer = json.loads(details["output"])["Payload"]
        if answer.get("action") == "start" and answer.get("deployment_id"):
            assert answer["service"] not in made, f"{answer['service']} started twice"
            made[answer["service"]] = answer["deployment_id"]
    return made


def stop_answers(sandbox: Sandbox, execution_arn: str) -> dict[str, list[str]]:
    """service -> the deployments the execution's stop steps stopped."""
    history = sandbox.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    answers = [
        json.loads(event["taskSucceededEventDetails"]["output"])["Payload"]
        for event in history
        if event.get("taskSucceededEventDetails")
    ]
    return {a["service"]: a["stopped"] for a in answers if a.get("action") == "stop"}


def wait_terminal(sandbox: Sandbox, deployment_id: str, timeout: float = 60.0) -> Any:
    """The deployment once it has ended (a stop with rollback takes a few polls to show)."""
    catalog = load_catalog(sandbox.world.catalog.path)
    engine = engine_for(catalog.resolve("inventory-service", "dev"), AwsClients(region=sandbox.world.region))
    deadline = time.monotonic() + timeout
    while True:
        deployment = engine.describe(deployment_id)
        if deployment.snapshot.status.is_terminal:
            return deployment
        assert time.monotonic() < deadline, f"{deployment_id} still {deployment.snapshot.status}"
        time.sleep(0.25)


def described(sandbox: Sandbox, deployments: dict[str, str]) -> dict[str, Any]:
    """service -> the engine's Deployment for each (service, deployment id)."""
    catalog = load_catalog(sandbox.world.catalog.path)
    clients = AwsClients(region=sandbox.world.region)
    return {
        name: engine_for(catalog.resolve(name, "dev"), clients).describe(deployment_id)
        for name, deployment_id in deployments.items()
    }


def bluegreen(*args: str) -> tuple[int, dict[str, Any]]:
    """A bluegreen command in this process; its exit code and JSON document."""
    import contextlib
    import io

    from orchestrator.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*args, "--output", "json"])
    text = out.getvalue()
    return code, (json.loads(text) if text.startswith("{") else {"stdout": text})


def assert_granted(sandbox: Sandbox) -> None:
    """Every AWS call the fleet step Lambda made is an action its exported role grants."""
    catalog = sandbox.world.catalog
    access = [
        export.service_access(service, load_task_definition(service))
        for service in (catalog.resolve(name, "dev") for name in SERVICES)
    ]
    made = export.template(plan_of(catalog), access, export.ExportOptions(), export.TemplateOptions())
    statements = made["Resources"]["FleetStepRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    granted = {action for statement in statements for action in statement["Action"]}
    assert sandbox.calls, "the Lambda ran"
    assert sorted(sandbox.calls - granted) == []


def test_healthy_plan_runs_to_succeeded_in_wave_order(in_world: Sandbox) -> None:
    plan = plan_of(in_world.world.catalog)
    run_id = "fr-20261130t0800z-a001"
    execution = run_execution(in_world, "fleet-healthy", run_id, plan)

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    deployments = described(in_world, started(in_world, execution["executionArn"]))
    assert sorted(deployments) == sorted(SERVICES)
    assert {name: d.snapshot.status.value for name, d in deployments.items()} == dict.fromkeys(
        SERVICES, "Succeeded"
    )
    assert {name: d.engine for name, d in deployments.items()} == {
        "product-service": "codedeploy",
        "inventory-service": "ecs",
        "order-service": "codedeploy",
    }
    wave_one_end = max(deployments[name].complete_time for name in WAVES[0])
    assert deployments["order-service"].create_time >= wave_one_end
    # the run's record (the machine's first step) lets `fleet watch` re-attach from any machine
    code, watched = bluegreen("fleet", "watch", run_id, "--env", "dev")
    assert code == 0, watched
    assert {row["service"]: (row["deploymentId"], row["outcome"]) for row in watched["services"]} == {
        name: (deployments[name].deployment_id, "succeeded") for name in SERVICES
    }
    assert_granted(in_world)


def test_a_failure_in_wave_one_fails_the_fleet_and_wave_two_never_starts(in_world: Sandbox) -> None:
    fleet = in_world.world.fleet
    assert fleet is not None
    # inventory-service shifts 10 % every 10 minutes (100 virtual minutes): still in flight when
    # product-service's smoke hook fails, so the fleet has something to stop
    plan = plan_of(in_world.world.catalog, {"inventory-service": "linear:10:10"})
    fleet.faults["product-service"] = parse_fault("error_rate=1.0")
    try:
        execution = run_execution(in_world, "fleet-faulty", "fr-20261130t0800z-b002", plan)
    finally:
        fleet.faults["product-service"] = HEALTHY

    assert execution["status"] == "FAILED"
    assert execution["error"] == export.FLEET_FAILED
    assert execution["cause"].startswith("product-service: deployment d-"), execution["cause"]
    deployments = described(in_world, started(in_world, execution["executionArn"]))
    assert "order-service" not in deployments  # wave 2 never started
    assert deployments["product-service"].snapshot.status.value == "Failed"
    # the wave's deployment still in flight was stopped with rollback
    stopped = stop_answers(in_world, execution["executionArn"])
    assert stopped == {
        "product-service": [],
        "inventory-service": [deployments["inventory-service"].deployment_id],
    }
    inventory = wait_terminal(in_world, deployments["inventory-service"].deployment_id)
    assert inventory.snapshot.status.value in ("Stopped", "Failed"), inventory.snapshot
    assert_granted(in_world)
