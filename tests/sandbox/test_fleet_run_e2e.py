"""`bluegreen fleet deploy`, `fleet watch` and `fleet deploy --resume` end to end, in one sandbox world.

Four services of the shipped catalog in two waves, two per engine: product-service (CodeDeploy) and
inventory-service (Amazon ECS's own deployments) in wave 1; order-service (CodeDeploy, depends on
product-service) and notification-service (ECS, depends on inventory-service) in wave 2. One
world for the module (tests/sandbox/test_fleet_e2e.py runs the 16-service proof and the failure in a
wave; this module proves the run's own loop: waves in order, the record, watch, resume).

1. A `fleet deploy --all` interrupted while wave 1 runs (Ctrl-C; SIGTERM becomes the same) exits
   130 naming `fleet watch` and `--resume`; `fleet deploy --resume RUN_ID` finishes it: wave 1's
   deployments are watched, not started again, every wave-2 deployment is created after every
   wave-1 one ended, and every service has exactly one deployment carrying the run id.
2. `fleet watch RUN_ID` re-attaches from the record and the deployments carrying the run id.
3. `--resume` with an unknown run id: exit 2, one line.
4. A `fleet deploy` SIGKILLed mid-wave is finished by `--resume`, nothing deployed twice (was in
   tests/sandbox/test_fleet_e2e.py's 16-service world; its section below).
5. The engines' side of a fleet, in the same world after those runs (it was a module of its own, a
   world of its own): batched looks, deployments told apart by their fleet run on both engines,
   the run record through SSM within the Standard tier (see its section below).
6. The exported Step Functions machine executes on moto's interpreter against this world, healthy
   and with a failure in wave 1 (was tests/sandbox/test_fleet_export_sfn.py; its section below).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orchestrator.aws.clients import AwsClients
from orchestrator.aws.fleet_runs import FleetRunStore, encode
from orchestrator.catalog import ResolvedService, load_catalog
from orchestrator.cli import main
from orchestrator.engines import engine_for
from orchestrator.engines.base import DeployInputs, Engine
from orchestrator.errors import BadInputError
from orchestrator.files.taskdef import load_task_definition
from orchestrator.fleet import export
from orchestrator.fleet.plan import FleetPlan, FleetService, Wave
from orchestrator.strategies import parse_strategy
from orchestrator.vocabulary import DeploymentStatus
from sandbox.faults import HEALTHY, parse_fault
from sandbox.listed_deployments import Listed, listed_deployments
from sandbox.moto_server import sandbox_client_factory
from sandbox.step_functions import StepFunctions
from sandbox.world import World, WorldOptions
from tests.support.fleet_catalog import SHIPPED, fleet_catalog
from tests.support.fleet_records import MARKET, fleet_run_document
from tests.support.schema import document_kind

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

SCALE = 400.0
SERVICES = ["product-service", "order-service", "inventory-service", "notification-service"]
DEPENDS_ON = {"order-service": ["product-service"], "notification-service": ["inventory-service"]}
# At 400x a deployment minute lasts 0.15 s: starting a wave (plans, registrations, creates) on a
# loaded machine takes several virtual minutes by itself. The default timeout is not under test.
TIMEOUT = ("--timeout", "600")
WAVES = {"product-service": 1, "inventory-service": 1, "order-service": 2, "notification-service": 2}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # The shipped catalog cut to the four services, in two waves by DEPENDS_ON, a short bake.
    catalog = fleet_catalog(tmp_path_factory.mktemp("catalog"), SERVICES, depends_on=DEPENDS_ON)
    # Alarms held still and few users: nothing here reads the users' answers.
    options = WorldOptions(time_scale=SCALE, evaluator_tick=1e6, traffic_rate=0.05)
    with World(catalog, "dev", SERVICES, None, options) as made:
        yield made


@pytest.fixture
def in_world(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    for key, value in world.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("BLUEGREEN_CATALOG", str(world.catalog.path))
    monkeypatch.setenv("BLUEGREEN_TIME_SCALE", str(SCALE))
    return world


def bluegreen(*args: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*args, "--output", "json"])
    text = out.getvalue()
    return code, (json.loads(text) if text.startswith("{") else {})


def engines(world: World) -> dict[str, Any]:
    catalog = load_catalog(world.catalog.path)
    clients = AwsClients(region=world.region)
    return {
        name: (engine_for(catalog.resolve(name, "dev"), clients), catalog.resolve(name, "dev"))
        for name in SERVICES
    }


def _ms(when: datetime) -> datetime:
    return when.replace(microsecond=when.microsecond // 1000 * 1000)


@pytest.fixture(scope="module")
def interrupted() -> dict[str, Any]:
    """Filled by the first test: the interrupted run's id and what it had started."""
    return {}


def test_an_interrupted_fleet_run_is_resumed_in_wave_order_with_nothing_deployed_twice(
    in_world: World, interrupted: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.fleet.runner import FleetRunner, Standing

    wait = FleetRunner._wait

    def ctrl_c_once_wave_1_runs(runner: FleetRunner, deadline: float) -> None:
        if any(member.standing is Standing.RUNNING for member in runner.members):
            interrupted["started"] = {m.name: m.deployment_id for m in runner.members if m.deployment_id}
            raise KeyboardInterrupt  # what SIGTERM (a cancelled CI job) becomes: session.sigterm_as_interrupt
        wait(runner, deadline)

    monkeypatch.setattr(FleetRunner, "_wait", ctrl_c_once_wave_1_runs)
    code, document = bluegreen(
        "fleet", "deploy", "--all", "--env", "dev", "--strategy", "all-at-once", *TIMEOUT
    )
    assert code == 130, document
    message = document["error"]
    run_id = message.split("fleet run ")[1].split("'")[0]
    assert f"`bluegreen fleet watch {run_id} --env dev`" in message
    assert f"`bluegreen fleet deploy --resume {run_id} --env dev`" in message
    assert set(interrupted["started"]) == {name for name, wave in WAVES.items() if wave == 1}
    monkeypatch.setattr(FleetRunner, "_wait", wait)

    code, document = bluegreen("fleet", "deploy", "--resume", run_id, "--env", "dev", *TIMEOUT)
    assert code == 0, json.dumps(document, indent=1)
    assert document["resumed"] is True and document["fleetRunId"] == run_id
    assert document_kind(document) == "FleetDocument"
    rows = {row["service"]: row for row in document["services"]}
    assert {name: row["wave"] for name, row in rows.items()} == WAVES
    assert all(row["outcome"] == "succeeded" for row in rows.values()), rows
    assert {row["engine"] for row in rows.values()} == {"codedeploy", "ecs"}
    assert document["totals"] == {"services": 4, "succeeded": 4, "failed": 0, "skipped": 0, "running": 0}
    assert 0 < document["maxCallsPerMinute"] <= document["callsPerMinuteLimit"]
    # wave 1's deployments are the interrupted run's (watched, not started again)
    assert {name: rows[name]["deploymentId"] for name in interrupted["started"]} == interrupted["started"]
    found = engines(in_world)
    since = datetime.now(UTC) - timedelta(days=2)  # the sandbox's virtual clock runs ahead of ours
    for name, (engine, service) in found.items():
        assert engine.fleet_deployments(service, run_id, since) == [rows[name]["deploymentId"]], name
    # every wave-2 deployment was created after every wave-1 deployment had ended
    described = {name: found[name][0].describe(rows[name]["deploymentId"]) for name in SERVICES}
    # (to the millisecond: CodeDeploy's times have milliseconds, ECS's microseconds, and a loaded
    # sandbox's virtual clock can stand still between the end of one and the start of the next)
    wave_1_end = max(_ms(described[name].complete_time) for name in SERVICES if WAVES[name] == 1)
    wave_2_start = min(_ms(described[name].create_time) for name in SERVICES if WAVES[name] == 2)
    assert wave_2_start >= wave_1_end, (wave_1_end, wave_2_start)
    interrupted.update(run_id=run_id, ids={name: row["deploymentId"] for name, row in rows.items()})


def test_fleet_watch_reattaches_from_the_record(in_world: World, interrupted: dict[str, Any]) -> None:
    assert interrupted.get("run_id"), "needs the first test's run"
    code, watched = bluegreen("fleet", "watch", interrupted["run_id"], "--env", "dev", *TIMEOUT)
    assert code == 0, watched
    assert {row["service"]: row["deploymentId"] for row in watched["services"]} == interrupted["ids"]
    assert all(row["outcome"] == "succeeded" for row in watched["services"])


def test_resume_of_an_unknown_run_is_bad_input(in_world: World) -> None:
    code, document = bluegreen("fleet", "deploy", "--resume", "fr-20261130t0000z-dead", "--env", "dev")
    assert code == 2 and "no fleet run fr-20261130t0000z-dead in dev" in document["error"]


# --- a fleet run killed mid-wave (issue 13, "done when") -------------------------------------------
# A `fleet deploy` subprocess SIGKILLed (as a CI runner kills a job, no goodbye) once a deployment of
# wave 1 started is finished by `fleet deploy --resume RUN_ID`, and nothing is deployed twice:
# counted per deployment group or ECS service in the engines' own lists. The module's four services,
# one per engine in each of the two waves (it ran in tests/sandbox/test_fleet_e2e.py's 16-service
# world on four of them: the same proof, without twelve idle services' upkeep).

BIN = Path(sys.executable).parent


def listed(world: World, service: str, since: datetime) -> list[Listed]:
    """The service's deployments since ``since`` in its engine's own list, rollbacks included."""
    clients = world.clients()
    return listed_deployments(
        clients.codedeploy, clients.native_ecs, world.catalog.resolve(service, "dev"), since
    )


def test_a_killed_fleet_run_is_resumed_and_nothing_is_deployed_twice(in_world: World) -> None:
    since = datetime.fromtimestamp(in_world.clock.now(), UTC) - timedelta(seconds=1)
    command = [str(BIN / "bluegreen"), "fleet", "deploy", *SERVICES, "--env", "dev", *TIMEOUT]
    command += ["--time-scale", f"{SCALE:g}"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ)
    )
    seen: list[str] = []
    run_id = None
    try:
        assert process.stdout is not None
        for line in process.stdout:  # bounded: the process ends, or is killed below
            seen.append(line)
            run_id = run_id or _run_id(line)
            if run_id and re.search(r"\b(d-[A-Z0-9]+|arn:aws:ecs:\S+service-deployment\S+)", line):
                break  # a deployment of wave 1 started: kill the job mid-wave, no goodbye
        process.kill()
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert run_id is not None, "".join(seen)
    started_before = {s: listed(in_world, s, since) for s in SERVICES}
    assert any(started_before.values()), "".join(seen)
    assert not all(found and found[-1].completed for found in started_before.values()), started_before

    code, document = bluegreen("fleet", "deploy", "--resume", run_id, "--env", "dev", *TIMEOUT)

    assert code == 0, document
    assert document["fleetRunId"] == run_id and document["resumed"] is True, document
    assert document["totals"]["succeeded"] == len(SERVICES), document
    rows = {row["service"]: row for row in document["services"]}
    for service in SERVICES:  # exactly one deployment per group / ECS service: nothing twice
        found = listed(in_world, service, since)
        assert [d.deployment_id for d in found] == [rows[service]["deploymentId"]], (service, found)
        assert found[0].status in ("Succeeded", "SUCCESSFUL"), (service, found)
        if started_before[service]:  # what the killed job started was watched, not started again
            assert found[0].deployment_id == started_before[service][0].deployment_id


def _run_id(line: str) -> str | None:
    match = re.search(r"\bfleet run (fr-[a-z0-9-]+)", line)
    return match.group(1) if match else None


# --- the engines' side of a fleet (issue 13) -------------------------------------------------------
# One round, all four at once: product and inventory for another fleet run, order and notification
# for ours, watched with ``Engine.snapshots`` (one batched read per engine per look; the shares add
# up to what the clients counted); ``Engine.fleet_deployments`` tells the runs apart (CodeDeploy by
# the description the emulator keeps, ECS by the ``bluegreen:fleet-run`` tag moto keeps on the
# registered task definition and answers through the ECS endpoint, DescribeTaskDefinition include
# TAGS); the fleet run record round-trips through moto's SSM (``FleetRunStore``): the sandbox refuses
# a Standard value over 4096 characters as Parameter Store does, so the compression is what makes the
# market's 16 images by digest fit. Run ids of their own: the runs above never see these deployments.

CODEDEPLOY = ["product-service", "order-service"]
ECS = ["inventory-service", "notification-service"]
OURS = "fr-20261130t0730z-3f9a"
OTHER = "fr-20261130t0700z-0000"
RUNS = {
    "product-service": OTHER,
    "order-service": OURS,
    "inventory-service": OTHER,
    "notification-service": OURS,
}


@dataclass
class Run:
    world: World
    clients: AwsClients
    services: dict[str, ResolvedService]
    engines: dict[str, Engine]
    since: datetime
    ids: dict[str, str] = field(default_factory=dict)  # service -> its deployment
    looks: list[dict[str, Any]] = field(default_factory=list)  # engine, ids, shares, counted


def virtual_now(world: World) -> datetime:
    return datetime.fromtimestamp(world.clock.now(), UTC)


def start(run: Run, service: str, fleet_run: str) -> str:
    engine = run.engines[service]
    inputs = DeployInputs(
        service=run.services[service], strategy=parse_strategy("all-at-once"), fleet_run=fleet_run
    )
    return engine.start(engine.plan(inputs)).deployment_id


def watch(run: Run, ids: dict[str, str], timeout: float = 120.0) -> dict[str, str]:
    """Look at every deployment with one ``snapshots`` per engine until all end (promoting any that
    waits at Ready); each look's shares and what the clients counted are kept in ``run.looks``."""
    by_engine: dict[str, list[str]] = {}
    for service in ids:
        by_engine.setdefault(run.engines[service].name, []).append(service)
    ended: dict[str, str] = {}
    promoted: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(ended) < len(ids):
        assert time.monotonic() < deadline, f"still running after {timeout} s: {set(ids) - set(ended)}"
        for name, services in by_engine.items():
            engine = run.engines[services[0]]
            asked = [ids[service] for service in services]
            before = run.clients.counter.total
            looked = engine.snapshots(asked)
            counted = run.clients.counter.total - before
            run.looks.append(
                {"engine": name, "ids": asked, "shares": [looked[i].calls for i in asked], "counted": counted}
            )
            for service in services:
                snapshot = looked[ids[service]].snapshot
                if snapshot.status.is_terminal:
                    ended[service] = snapshot.status.value
                elif snapshot.status is DeploymentStatus.READY and service not in promoted:
                    promoted.add(service)
                    engine.promote(ids[service])
        time.sleep(0.2)
    return ended


@pytest.fixture(scope="module")
def run(world: World) -> Iterator[Run]:
    """The engines' round in the module's world, once the fleet runs above are done with it."""
    catalog = load_catalog(world.catalog.path)
    clients = AwsClients(region=world.region)
    services = {service: catalog.resolve(service, "dev") for service in SERVICES}
    engines = {service: engine_for(services[service], clients) for service in SERVICES}
    assert {engines[s].name for s in CODEDEPLOY} == {"codedeploy"}
    assert {engines[s].name for s in ECS} == {"ecs"}
    made = Run(world, clients, services, engines, virtual_now(world) - timedelta(minutes=1))
    made.ids = {service: start(made, service, RUNS[service]) for service in SERVICES}
    assert set(watch(made, made.ids).values()) == {DeploymentStatus.SUCCEEDED.value}
    yield made


def test_each_look_is_one_batched_read_per_engine_and_the_shares_are_what_it_cost(run: Run) -> None:
    assert run.looks
    for look in run.looks:
        assert sum(look["shares"]) == look["counted"], look
        if look["engine"] == "ecs":
            assert look["shares"] == [1, 0], (
                look
            )  # both service deployments in one DescribeServiceDeployments
        else:  # one BatchGetDeployments, each target read only where it is worth a call
            assert look["counted"] <= 1 + 2 * len(look["ids"]), look
    cheap = [look for look in run.looks if look["engine"] == "codedeploy" and look["counted"] == 1]
    assert cheap, "some CodeDeploy looks read no target at all"


@pytest.mark.parametrize("service", SERVICES)
def test_fleet_deployments_tell_the_runs_apart_on_both_engines(run: Run, service: str) -> None:
    engine, resolved = run.engines[service], run.services[service]
    for fleet_run in (OURS, OTHER, "fr-20261130t0800z-ffff"):
        expected = [run.ids[service]] if RUNS[service] == fleet_run else []
        assert engine.fleet_deployments(resolved, fleet_run, run.since) == expected, fleet_run
    later = virtual_now(run.world)  # the deployment was created before: not found
    assert engine.fleet_deployments(resolved, RUNS[service], later) == []


def test_the_ecs_revision_carries_the_tag_through_the_ecs_endpoint(run: Run) -> None:
    ecs = run.clients.client("ecs")
    described = ecs.describe_service_deployments(serviceDeploymentArns=[run.ids[ECS[1]]])
    revision = described["serviceDeployments"][0]["targetServiceRevision"]["arn"]
    task_definition = ecs.describe_service_revisions(serviceRevisionArns=[revision])["serviceRevisions"][0][
        "taskDefinition"
    ]
    tags = ecs.describe_task_definition(taskDefinition=task_definition, include=["TAGS"])["tags"]
    assert {"key": "bluegreen:fleet-run", "value": OURS} in tags
    assert "tags" not in ecs.describe_task_definition(taskDefinition=task_definition)


@pytest.fixture
def in_run(run: Run, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The world's endpoint variables again (each test starts with a clean environment), for the
    clients made after the module's fixture."""
    for key, value in run.world.env.items():
        monkeypatch.setenv(key, value)
    return run


def test_the_run_record_round_trips_through_ssm_within_the_standard_tier(in_run: Run) -> None:
    ssm = in_run.clients.client("ssm")
    assert ssm.meta.endpoint_url == in_run.world.moto_url  # moto on loopback, never AWS
    store = FleetRunStore(ssm, "doa-market")
    document = fleet_run_document(16, by_digest=True)
    assert {f"{name}-service" for name in MARKET} == set(load_catalog(SHIPPED).services)
    plain = json.dumps(document, separators=(",", ":"), sort_keys=True)
    assert len(plain) > 4096 and encode(document).tier == "Standard"

    store.put(OURS, "dev", document)

    assert store.get(OURS, "dev") == document
    name = store.name(OURS, "dev")
    # GetParameter does not say the tier; DescribeParameters' ParameterMetadata does
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
    assert [parameter["Tier"] for parameter in described] == ["Standard"]
    with pytest.raises(BadInputError, match="no fleet run fr-20261130t0800z-ffff in dev"):
        store.get("fr-20261130t0800z-ffff", "dev")
    # as Parameter Store does, the sandbox refuses the plain JSON on the Standard tier
    with pytest.raises(ssm.exceptions.ClientError, match="maximum parameter value of 4096 characters"):
        ssm.put_parameter(Name=name, Value=plain, Type="String", Tier="Standard", Overwrite=True)


def test_a_record_that_needed_advanced_stays_advanced(in_run: Run) -> None:
    ssm = in_run.clients.client("ssm")
    assert ssm.meta.endpoint_url == in_run.world.moto_url
    store = FleetRunStore(ssm, "doa-market")
    run_id = "fr-20261130t0900z-abcd"
    large, small = fleet_run_document(64, by_digest=True), fleet_run_document(4, by_digest=True)
    assert encode(large).tier == "Advanced" and encode(small).tier == "Standard"
    store.put(run_id, "dev", large)
    store.put(run_id, "dev", small)  # Standard refused by SSM (no way back), written Advanced again

    assert store.get(run_id, "dev") == small
    name = store.name(run_id, "dev")
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
    assert [parameter["Tier"] for parameter in described] == ["Advanced"]


# --- the exported fleet state machine executes (issue 13 item 5) ----------------------------------
# moto's ASL interpreter (``sandbox.step_functions``) runs `orchestrator.fleet.export`'s definition;
# its Task states invoke the real fleet step Lambda (``hooks.fleet_step``) on the world's in-process
# Lambda runner, which deploys through both engines into this world: product-service and
# order-service on CodeDeploy, inventory-service on Amazon ECS's native deployments. (It was a module
# of its own with a world of three of these services; notification-service idles here.)
# Plan: wave 1 = product-service + inventory-service (at most 2 at once), wave 2 = order-service.
# 1. Healthy: the execution SUCCEEDED and each service has one succeeded deployment; wave 2's
#    started after wave 1's had ended; `bluegreen fleet watch RUN_ID` finds the run (its record, the
#    machine's first step) and each deployment (by the run id they carry).
# 2. product-service's green answers 500 (its smoke hook fails): the execution FAILED with
#    FleetFailed naming product-service, and order-service (wave 2) got no deployment.
# In both, every AWS call the Lambda made is an action its exported role grants.

SFN_SERVICES = ["product-service", "inventory-service", "order-service"]
SFN_WAVES = [["product-service", "inventory-service"], ["order-service"]]
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
        for number, names in enumerate(SFN_WAVES, start=1)
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
def sandbox(world: World) -> Iterator[Sandbox]:
    """Step Functions on the module's world, once the runs above are done with it; the fleet step
    Lambda on the world's runner."""
    from hooks import fleet_step

    assert world.runner is not None
    world.runner.add_function(FUNCTION, fleet_step.handler, max_retry_attempts=0)
    calls: set[str] = set()
    with pytest.MonkeyPatch.context() as patch, StepFunctions(world.runner) as url:
        record_calls(patch, calls)
        sfn = sandbox_client_factory(world.region)("stepfunctions", url)
        account = world.services[0].account_id or "123456789012"
        arn = f"arn:aws:lambda:{world.region}:{account}:function:{FUNCTION}"
        yield Sandbox(world, sfn, arn, calls)
        sfn.close()


@pytest.fixture
def in_sfn(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
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


def started_by(sandbox: Sandbox, execution_arn: str) -> dict[str, str]:
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


def deployments_of(sandbox: Sandbox, deployments: dict[str, str]) -> dict[str, Any]:
    """service -> the engine's Deployment for each (service, deployment id)."""
    catalog = load_catalog(sandbox.world.catalog.path)
    clients = AwsClients(region=sandbox.world.region)
    return {
        name: engine_for(catalog.resolve(name, "dev"), clients).describe(deployment_id)
        for name, deployment_id in deployments.items()
    }


def assert_granted(sandbox: Sandbox) -> None:
    """Every AWS call the fleet step Lambda made is an action its exported role grants."""
    catalog = sandbox.world.catalog
    access = [
        export.service_access(service, load_task_definition(service))
        for service in (catalog.resolve(name, "dev") for name in SFN_SERVICES)
    ]
    made = export.template(plan_of(catalog), access, export.ExportOptions(), export.TemplateOptions())
    statements = made["Resources"]["FleetStepRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    granted = {action for statement in statements for action in statement["Action"]}
    assert sandbox.calls, "the Lambda ran"
    assert sorted(sandbox.calls - granted) == []


def test_healthy_plan_runs_to_succeeded_in_wave_order(in_sfn: Sandbox) -> None:
    plan = plan_of(in_sfn.world.catalog)
    run_id = "fr-20261130t0800z-a001"
    execution = run_execution(in_sfn, "fleet-healthy", run_id, plan)

    assert execution["status"] == "SUCCEEDED", execution.get("cause")
    deployments = deployments_of(in_sfn, started_by(in_sfn, execution["executionArn"]))
    assert sorted(deployments) == sorted(SFN_SERVICES)
    assert {name: d.snapshot.status.value for name, d in deployments.items()} == dict.fromkeys(
        SFN_SERVICES, "Succeeded"
    )
    assert {name: d.engine for name, d in deployments.items()} == {
        "product-service": "codedeploy",
        "inventory-service": "ecs",
        "order-service": "codedeploy",
    }
    # to the millisecond, as in the resume test above (CodeDeploy's times have milliseconds, ECS's
    # microseconds: an order-service created in the millisecond inventory-service ended compared early)
    ends = [deployments[name].complete_time for name in SFN_WAVES[0]]
    assert all(end is not None for end in ends), ends
    wave_one_end = max(_ms(end) for end in ends if end is not None)
    created = deployments["order-service"].create_time
    assert created is not None and _ms(created) >= wave_one_end, (created, wave_one_end)
    # the run's record (the machine's first step) lets `fleet watch` re-attach from any machine
    code, watched = bluegreen("fleet", "watch", run_id, "--env", "dev")
    assert code == 0, watched
    assert {row["service"]: (row["deploymentId"], row["outcome"]) for row in watched["services"]} == {
        name: (deployments[name].deployment_id, "succeeded") for name in SFN_SERVICES
    }
    assert_granted(in_sfn)


def test_a_failure_in_wave_one_fails_the_fleet_and_wave_two_never_starts(in_sfn: Sandbox) -> None:
    fleet = in_sfn.world.fleet
    assert fleet is not None
    # inventory-service shifts 10 % every 10 minutes (100 virtual minutes): still in flight when
    # product-service's smoke hook fails, so the fleet has something to stop
    plan = plan_of(in_sfn.world.catalog, {"inventory-service": "linear:10:10"})
    fleet.faults["product-service"] = parse_fault("error_rate=1.0")
    try:
        execution = run_execution(in_sfn, "fleet-faulty", "fr-20261130t0800z-b002", plan)
    finally:
        fleet.faults["product-service"] = HEALTHY

    assert execution["status"] == "FAILED"
    assert execution["error"] == export.FLEET_FAILED
    assert execution["cause"].startswith("product-service: deployment d-"), execution["cause"]
    deployments = deployments_of(in_sfn, started_by(in_sfn, execution["executionArn"]))
    assert "order-service" not in deployments  # wave 2 never started
    assert deployments["product-service"].snapshot.status.value == "Failed"
    # the wave's deployment still in flight was stopped with rollback
    stopped = stop_answers(in_sfn, execution["executionArn"])
    assert stopped == {
        "product-service": [],
        "inventory-service": [deployments["inventory-service"].deployment_id],
    }
    inventory = wait_terminal(in_sfn, deployments["inventory-service"].deployment_id)
    assert inventory.snapshot.status.value in ("Stopped", "Failed"), inventory.snapshot
    assert_granted(in_sfn)
